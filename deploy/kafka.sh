#!/usr/bin/env bash
# Apache Kafka (KRaft, one node) for the local stack, from Maven Central jars.
#   deploy/kafka.sh fetch|start|stop|status
# Environment: OCOP_KAFKA_PORT (9092), OCOP_KAFKA_CONTROLLER_PORT (9093), OCOP_KAFKA_DIR (.ocop/kafka),
#              OCOP_KAFKA_HEAP (512m), OCOP_KAFKA_ADMIN_PASSWORD and OCOP_KAFKA_<SERVICE>_PASSWORD
#              (default: the development passwords ocop-dev-kafka-<name>), OCOP_KAFKA_TLS=1 to
#              serve SASL over TLS with certificates from a local CA under $OCOP_KAFKA_DIR/tls
#              (clients: OCOP_KAFKA_SECURITY_PROTOCOL=SASL_SSL, OCOP_KAFKA_SSL_CAFILE=.../ca.pem).
# The client listener takes SASL/SCRAM-SHA-512 and every request is authorised by ACLs
# (StandardAuthorizer); the principals are created when the storage is formatted, the ACLs by
# `python -m ocop_runtime.kafka_security setup` (stack.sh and test.sh run it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PORT=${OCOP_KAFKA_PORT:-9092}
CPORT=${OCOP_KAFKA_CONTROLLER_PORT:-9093}
DIR=${OCOP_KAFKA_DIR:-$STATE/kafka}
POM=$ROOT/deploy/kafka/pom.xml
VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM")
LIBS=$CACHE/kafka-$VERSION/libs
PIDFILE=$DIR/kafka.pid
ADMIN_PASSWORD=${OCOP_KAFKA_ADMIN_PASSWORD:-ocop-dev-kafka-admin}

# scram_args NAME...: the StorageTool arguments creating the admin and one principal per service.
scram_args() {
  local name upper var
  printf -- '--add-scram\nSCRAM-SHA-512=[name=admin,password=%s]\n' "$ADMIN_PASSWORD"
  for name in "$@"; do
    upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
    var="OCOP_KAFKA_${upper}_PASSWORD"
    printf -- '--add-scram\nSCRAM-SHA-512=[name=%s,password=%s]\n' "$name" "${!var:-ocop-dev-kafka-$name}"
  done
}

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v java >/dev/null || die "java is not installed (Kafka $VERSION needs Java 17+)"
  command -v mvn >/dev/null || die "mvn is not installed: apt-get install maven"
  say "fetching Apache Kafka $VERSION and its dependencies from Maven Central into $LIBS"
  rm -rf "$LIBS"
  mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS" \
    || die "could not fetch Kafka $VERSION from Maven Central (see the mvn output above)"
  touch "$LIBS/.complete"
}

# A local CA and a broker certificate for 127.0.0.1/localhost, as PEM (Kafka reads PEM stores).
tls_material() {
  local d=$DIR/tls
  [ -f "$d/broker.pem" ] && return 0
  command -v openssl >/dev/null || die "openssl is needed for OCOP_KAFKA_TLS=1"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=ocop local CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.crt \
      -days 825 -extfile san.ext 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in broker.key -out broker.p8
    cat broker.p8 broker.crt >broker.pem
    chmod 600 ca.key broker.key broker.p8 broker.pem
  ) || die "could not make the TLS certificates in $d"
  say "TLS certificates in $d (clients trust $d/ca.pem)"
}

start() {
  if running "$PIDFILE"; then say "kafka already running (pid $(cat "$PIDFILE"), port $PORT)"; return 0; fi
  port_busy "$PORT" && die "port $PORT is already in use by another process; stop it or set OCOP_KAFKA_PORT"
  port_busy "$CPORT" && die "port $CPORT (Kafka controller) is already in use; stop it or set OCOP_KAFKA_CONTROLLER_PORT"
  fetch
  mkdir -p "$DIR/data"
  local proto=SASL_PLAINTEXT tls_props=""
  if [ "${OCOP_KAFKA_TLS:-0}" = 1 ]; then
    tls_material
    proto=SASL_SSL
    tls_props="ssl.keystore.type=PEM
ssl.keystore.location=$DIR/tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$DIR/tls/ca.pem"
  fi
  local lname
  lname=$(echo "$proto" | tr '[:upper:]' '[:lower:]')
  # The controller listener authenticates too (SASL/PLAIN: KRaft's controller cannot use SCRAM,
  # whose credentials live in the metadata it serves), so that no local process reaching its
  # port is anyone, let alone a super user. Its password is made once, readable by this user.
  local controller_pw
  if [ ! -s "$DIR/controller.secret" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$DIR/controller.secret")
  fi
  controller_pw=$(cat "$DIR/controller.secret")
  # It holds the admin's password: readable by this user only.
  install -m 600 /dev/null "$DIR/server.properties"
  cat > "$DIR/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=$proto://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=$proto://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=$proto:$proto,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=$proto
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.$lname.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$controller_pw" user_controller="$controller_pw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:controller
log.dirs=$DIR/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
$tls_props
PROPS
  local cp="$LIBS/*"
  if [ ! -f "$DIR/data/meta.properties" ]; then
    say "formatting KRaft storage in $DIR/data"
    local catalogue
    # One principal per service of the catalogue and per service the topic catalogue reserves.
    catalogue=$(ocop_services --all) || exit 1
    # The credentials go to the storage tool in a 0600 argument file (one argument a line),
    # never on its command line, where any local user could read them (ps).
    local argfile; argfile=$(umask 077; mktemp "$DIR/.format-args.XXXXXX")
    scram_args $(awk '{print $1}' <<<"$catalogue") >"$argfile"
    java -cp "$cp" -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.xml" kafka.tools.StorageTool \
      format --standalone -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$DIR/server.properties" "@$argfile" >"$DIR/format.log" 2>&1 \
      || { rm -f "$argfile"; cat "$DIR/format.log" >&2; die "kafka storage format failed"; }
    rm -f "$argfile"
  fi
  say "starting kafka $VERSION on 127.0.0.1:$PORT (log: $DIR/kafka.log)"
  nohup java -Xms256m -Xmx"${OCOP_KAFKA_HEAP:-512m}" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.xml" \
    -cp "$cp" kafka.Kafka "$DIR/server.properties" >"$DIR/kafka.log" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + 90))
  until grep -q 'Kafka Server started' "$DIR/kafka.log" 2>/dev/null; do
    running "$PIDFILE" && [ $SECONDS -lt $deadline ] || break
    sleep 0.2
  done
  if ! wait_port "$PORT" 5 "$PIDFILE"; then
    tail -n 30 "$DIR/kafka.log" >&2
    die "kafka did not start on port $PORT (log: $DIR/kafka.log)"
  fi
  say "kafka is up on 127.0.0.1:$PORT"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop_pid "$PIDFILE" kafka ;;
  status) if running "$PIDFILE"; then echo "kafka running (pid $(cat "$PIDFILE"), 127.0.0.1:$PORT)"; else echo "kafka stopped"; exit 1; fi ;;
  *) die "usage: $0 fetch|start|stop|status" ;;
esac
