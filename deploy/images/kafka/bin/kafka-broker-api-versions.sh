#!/usr/bin/env bash
# The healthcheck of docker-compose.yml: kafka-broker-api-versions.sh --bootstrap-server HOST:PORT.
# Sends Kafka's ApiVersions request (v0) and succeeds when the broker answers it without error:
# the broker is up and serving its client listener. (The official tool lives in kafka-tools,
# which the broker's jars do not include; this asks the same question with no JVM to start.)
set -euo pipefail
server=
while [ $# -gt 0 ]; do
    case "$1" in
        --bootstrap-server) server=$2; shift 2 ;;
        --bootstrap-server=*) server=${1#*=}; shift ;;
        *) shift ;;
    esac
done
[ -n "$server" ] || { echo "usage: $0 --bootstrap-server HOST:PORT" >&2; exit 2; }
host=${server%:*} port=${server##*:}
exec 3<>"/dev/tcp/$host/$port" || exit 1
# length 10: api_key 18 (ApiVersions), api_version 0, correlation_id 7, client_id null.
printf '\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x07\xff\xff' >&3
# The answer: length (4 bytes), correlation_id (4), error_code (2).
answer=$(timeout 10 head -c 10 <&3 | od -An -tx1 | tr -d ' \n')
exec 3<&-
[ "${answer:8:8}" = 00000007 ] || { echo "no ApiVersions answer from $server" >&2; exit 1; }
[ "${answer:16:4}" = 0000 ] || { echo "ApiVersions error ${answer:16:4} from $server" >&2; exit 1; }
echo "$server answers ApiVersions"
