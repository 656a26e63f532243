#!/usr/bin/env bash
# The official apache/kafka image's start-up: every KAFKA_* variable becomes a broker property
# (KAFKA_LOG_DIRS -> log.dirs; "__" stands for "_" and "___" for "-"), the storage is formatted
# with CLUSTER_ID on first start, then the broker runs in the foreground.
set -euo pipefail
CONFIG=/opt/kafka/config/server.properties
CP="/opt/kafka/libs/*"
: "${CLUSTER_ID:?CLUSTER_ID is not set}"

# Variables of the JVM, not properties.
skip='^KAFKA_(HEAP_OPTS|OPTS|JVM_PERFORMANCE_OPTS|GC_LOG_OPTS|LOG4J_OPTS|JMX_OPTS|DEBUG|VERSION)$'
: >"$CONFIG"
while IFS='=' read -r name value; do
    [[ $name =~ ^KAFKA_ ]] || continue
    [[ $name =~ $skip ]] && continue
    key=${name#KAFKA_}
    key=$(printf '%s' "$key" | tr '[:upper:]' '[:lower:]' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
    printf '%s=%s\n' "$key" "$value" >>"$CONFIG"
done < <(env)

LOG4J="-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.xml"
java -cp "$CP" $LOG4J kafka.tools.StorageTool format --ignore-formatted -t "$CLUSTER_ID" \
    -c "$CONFIG" >/dev/null
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true \
    ${KAFKA_OPTS:-} $LOG4J -cp "$CP" kafka.Kafka "$CONFIG"
