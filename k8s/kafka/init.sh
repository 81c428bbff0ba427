#!/bin/bash
# kafka-init: makes the Kafka cluster what the services expect, as the super user `admin`:
#   1. one SCRAM-SHA-512 user per service (sales, shipping, invoicing), password (re)set each run
#   2. the topics: EVENTS_TOPIC (orders) and one dead-letter topic per consumer
#   3. the ACLs: each service exactly what it does, nothing else (the table is in docs/deploy.md)
# Idempotent: run it again after changing a password or a setting below. Exit 0 = all done.
#
# Settings (environment):
#   KAFKA_BOOTSTRAP                      host:port of the SASL_SSL listener (kafka:9092)
#   KAFKA_CA_FILE                        CA certificate, PEM          (default /mnt/shared/config/ca.crt)
#   KAFKA_ADMIN_PASSWORD[_FILE]          the admin user's password
#   SALES_KAFKA_PASSWORD[_FILE], SHIPPING_KAFKA_PASSWORD[_FILE], INVOICING_KAFKA_PASSWORD[_FILE]
#   EVENTS_TOPIC                         default orders
#   SHIPPING_GROUP_ID / INVOICING_GROUP_ID     default shipping / invoicing
#   SHIPPING_DLQ_TOPIC / INVOICING_DLQ_TOPIC   default orders.shipping.dlq / orders.invoicing.dlq
#   KAFKA_TOPIC_PARTITIONS               default 3
#   KAFKA_REPLICATION_FACTOR             default 1 (one node); 3 on a real cluster
#   KAFKA_MIN_INSYNC_REPLICAS            default 1; 2 on a real cluster (with acks=all, which the producers use)
#   EVENTS_RETENTION_MS / DLQ_RETENTION_MS     default 7 / 30 days
set -euo pipefail

bin=${KAFKA_HOME:-/opt/kafka}/bin
bootstrap=${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP (host:port)}
ca_file=${KAFKA_CA_FILE:-/mnt/shared/config/ca.crt}
events_topic=${EVENTS_TOPIC:-orders}
shipping_group=${SHIPPING_GROUP_ID:-shipping}
invoicing_group=${INVOICING_GROUP_ID:-invoicing}
shipping_dlq=${SHIPPING_DLQ_TOPIC:-orders.shipping.dlq}
invoicing_dlq=${INVOICING_DLQ_TOPIC:-orders.invoicing.dlq}
partitions=${KAFKA_TOPIC_PARTITIONS:-3}
replication=${KAFKA_REPLICATION_FACTOR:-1}
min_isr=${KAFKA_MIN_INSYNC_REPLICAS:-1}
events_retention=${EVENTS_RETENTION_MS:-604800000}
dlq_retention=${DLQ_RETENTION_MS:-2592000000}

fail() {
  echo "kafka-init: $*" >&2
  exit 78
}

secret() { # NAME: the value of $NAME, or the content of the file named by $NAME_FILE
  local file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ]; then
    tr -d '\r\n' <"${!file_var}"
  else
    printf '%s' "${!1:-}"
  fi
}

# Passwords go into a JAAS string and a SCRAM credential spec, where quotes, ',' or '=' would be
# misread: hex or base64url only (openssl rand -hex 32).
password_of() { # VARIABLE
  local value
  value=$(secret "$1")
  [[ $value =~ ^[A-Za-z0-9_-]{16,}$ ]] || fail "$1 must be at least 16 characters of A-Z a-z 0-9 _ - (openssl rand -hex 32)"
  printf '%s' "$value"
}

[ -s "$ca_file" ] || fail "$ca_file is missing"
admin_password=$(password_of KAFKA_ADMIN_PASSWORD)
# One plain assignment each: a failure inside `declare -A x=([k]=$(...))` would not stop the script.
sales_password=$(password_of SALES_KAFKA_PASSWORD)
shipping_password=$(password_of SHIPPING_KAFKA_PASSWORD)
invoicing_password=$(password_of INVOICING_KAFKA_PASSWORD)
declare -A user_password=([sales]=$sales_password [shipping]=$shipping_password [invoicing]=$invoicing_password)

umask 077
work=$(mktemp -d "${TMPDIR:-/tmp}/kafka-init.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The admin client's settings, in a file (never on a command line): what every tool below uses.
admin_config="$work/admin.properties"
cat >"$admin_config" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
ssl.truststore.type=PEM
ssl.truststore.location=$ca_file
PROPERTIES

kafka() { # TOOL ARGS...: one of Kafka's CLI tools, as admin
  local tool=$1
  shift
  "$bin/$tool.sh" --bootstrap-server "$bootstrap" --command-config "$admin_config" "$@"
}

echo "kafka-init: waiting for $bootstrap"
for attempt in $(seq 1 "${KAFKA_INIT_ATTEMPTS:-60}"); do
  if kafka kafka-broker-api-versions >/dev/null 2>"$work/wait.log"; then
    break
  fi
  if [ "$attempt" = "${KAFKA_INIT_ATTEMPTS:-60}" ]; then
    cat "$work/wait.log" >&2
    fail "no answer from $bootstrap as admin (is KAFKA_ADMIN_PASSWORD the one the storage was formatted with?)"
  fi
  sleep 2
done

# 1. Users. The credential goes through a file: --add-config would put it on the command line.
for user in sales shipping invoicing; do
  printf 'SCRAM-SHA-512=iterations=8192,password=%s\n' "${user_password[$user]}" >"$work/scram.properties"
  kafka kafka-configs --alter --entity-type users --entity-name "$user" --add-config-file "$work/scram.properties" >/dev/null
  rm -f "$work/scram.properties"
  echo "kafka-init: user $user: SCRAM-SHA-512 credential set"
done

# 2. Topics. --if-not-exists keeps an existing topic's partitions; its settings are re-applied.
topic() { # NAME RETENTION_MS
  kafka kafka-topics --create --if-not-exists --topic "$1" \
    --partitions "$partitions" --replication-factor "$replication" \
    --config "min.insync.replicas=$min_isr" --config "retention.ms=$2" --config cleanup.policy=delete
  kafka kafka-configs --alter --entity-type topics --entity-name "$1" \
    --add-config "min.insync.replicas=$min_isr,retention.ms=$2" >/dev/null
  echo "kafka-init: topic $1: ready"
}
topic "$events_topic" "$events_retention"
topic "$shipping_dlq" "$dlq_retention"
topic "$invoicing_dlq" "$dlq_retention"

# 3. ACLs (literal names, allow only; adding one that exists changes nothing). Describe comes
# with Read and Write. No Create anywhere: topics are made here, not by the services. The
# producers are idempotent (kafkajs idempotent: true): since Kafka 3.0 (KIP-679) Write on a topic
# is enough for that, IdempotentWrite on the cluster is not needed.
allow() { # PRINCIPAL ARGS...
  local principal=$1
  shift
  kafka kafka-acls --add --allow-principal "User:$principal" "$@" >/dev/null
}
allow sales --operation Write --topic "$events_topic"
allow shipping --operation Read --topic "$events_topic"
allow shipping --operation Read --group "$shipping_group"
allow shipping --operation Write --topic "$shipping_dlq"
allow invoicing --operation Read --topic "$events_topic"
allow invoicing --operation Read --group "$invoicing_group"
allow invoicing --operation Write --topic "$invoicing_dlq"
echo "kafka-init: ACLs in place:"
kafka kafka-acls --list
echo "kafka-init: done"
