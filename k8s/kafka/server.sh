#!/bin/bash
# Starts one Kafka node in KRaft combined mode (broker and controller in one process), secured:
#
#   CLIENTS     SASL_SSL, SCRAM-SHA-512     0.0.0.0:9092     the services and kafka-init, one user each
#   BROKER      SSL, client cert required   127.0.0.1:9094   inter-broker (this node talking to itself)
#   CONTROLLER  SSL, client cert required   127.0.0.1:9093   KRaft; SCRAM cannot authenticate here (the
#                                                            credentials live in the metadata it serves)
#
# Authorization by StandardAuthorizer, deny unless an ACL allows; super users are `admin` (SCRAM,
# used by kafka-init and operators) and the broker's own certificate (User:CN=kafka-broker, which
# KRaft needs before any ACL exists). The image's own start script is not used: it cannot create
# the first SCRAM user when it formats the storage, and without one nobody could log in to create
# the others (kafka-init).
#
# Settings (environment):
#   KAFKA_CLUSTER_ID            22-character base64url cluster id (kafka-storage.sh random-uuid)
#   KAFKA_ADVERTISED_HOST       the name clients reach this node by; in the certificate's SANs
#   KAFKA_ADMIN_PASSWORD[_FILE] the admin user's password (bootstrapped at format time only)
#   KAFKA_TLS_DIR               broker.p12 + keystore-password        (default /etc/kafka/secrets)
#   KAFKA_CA_FILE               the CA certificate, PEM               (default /mnt/shared/config/ca.crt)
#   KAFKA_DATA_DIR              the log directory                     (default /var/lib/kafka/data)
#   KAFKA_HEAP_OPTS             default -Xms512m -Xmx512m
set -euo pipefail

secret() { # NAME: the value of $NAME, or the content of the file named by $NAME_FILE
  local file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ]; then
    tr -d '\r\n' <"${!file_var}"
  else
    printf '%s' "${!1:-}"
  fi
}

: "${KAFKA_CLUSTER_ID:?set KAFKA_CLUSTER_ID (kafka-storage.sh random-uuid)}"
: "${KAFKA_ADVERTISED_HOST:?set KAFKA_ADVERTISED_HOST}"
admin_password=$(secret KAFKA_ADMIN_PASSWORD)
# Goes into a SCRAM config string ([name=...,password=...]), where ',' ']' '=' would break it.
if ! [[ $admin_password =~ ^[A-Za-z0-9_-]{16,}$ ]]; then
  echo "kafka: KAFKA_ADMIN_PASSWORD must be at least 16 characters of A-Z a-z 0-9 _ - (openssl rand -hex 32)" >&2
  exit 78
fi
bin=${KAFKA_HOME:-/opt/kafka}/bin
tls_dir=${KAFKA_TLS_DIR:-/etc/kafka/secrets}
ca_file=${KAFKA_CA_FILE:-/mnt/shared/config/ca.crt}
data_dir=${KAFKA_DATA_DIR:-/var/lib/kafka/data}
for file in "$tls_dir/broker.p12" "$tls_dir/keystore-password" "$ca_file"; do
  [ -s "$file" ] || { echo "kafka: $file is missing (run certs.sh first)" >&2; exit 78; }
done

# Generated files live in memory (/tmp is a tmpfs / emptyDir): the root file system is read-only.
umask 077
conf=$(mktemp -d "${TMPDIR:-/tmp}/kafka-conf.XXXXXX")

cat >"$conf/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
log.dirs=$data_dir

listeners=CLIENTS://0.0.0.0:9092,BROKER://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093
advertised.listeners=CLIENTS://$KAFKA_ADVERTISED_HOST:9092,BROKER://127.0.0.1:9094
listener.security.protocol.map=CLIENTS:SASL_SSL,BROKER:SSL,CONTROLLER:SSL
inter.broker.listener.name=BROKER
controller.listener.names=CONTROLLER

listener.name.clients.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.clients.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.broker.ssl.client.auth=required
listener.name.controller.ssl.client.auth=required

ssl.keystore.type=PKCS12
ssl.keystore.location=$tls_dir/broker.p12
ssl.keystore.password=$(tr -d '\r\n' <"$tls_dir/keystore-password")
ssl.truststore.type=PEM
ssl.truststore.location=$ca_file
ssl.enabled.protocols=TLSv1.3,TLSv1.2
ssl.endpoint.identification.algorithm=https

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:CN=kafka-broker
allow.everyone.if.no.acl.found=false

# Topics are made by kafka-init with their settings; a typo in a client must not create one.
auto.create.topics.enable=false
num.partitions=3
# One node: every replication factor is 1 (production: 3, min.insync.replicas 2; docs/deploy.md).
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPERTIES

# Console only: no log files growing on the in-memory /tmp. Authorization denials are logged at
# INFO by kafka.authorizer.logger, which is what an operator looks for after an ACL change.
cat >"$conf/log4j2.properties" <<'LOG4J'
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = INFO
LOG4J

# First start only (--ignore-formatted): format the storage with the admin SCRAM credential. The
# password is on this short-lived command line inside this container only; kafka-storage.sh has no
# other way to take it. Changing KAFKA_ADMIN_PASSWORD later changes nothing here: rotate it with
# kafka-configs.sh (docs/deploy.md, "Rotating SCRAM passwords").
"$bin/kafka-storage.sh" format --ignore-formatted \
  --cluster-id "$KAFKA_CLUSTER_ID" --config "$conf/server.properties" \
  --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_password]"

export LOG_DIR=${TMPDIR:-/tmp}/kafka-logs
export KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=file:$conf/log4j2.properties"
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}
# No -loggc: GC logs would be files on /tmp as well.
export EXTRA_ARGS="-name kafkaServer"
exec "$bin/kafka-server-start.sh" "$conf/server.properties"
