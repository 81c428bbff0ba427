#!/bin/bash
# Development TLS material for the single Kafka node: a throw-away CA and one broker certificate it
# signs, made with keytool alone (the apache/kafka image has a JRE but no openssl). Run by the
# compose service kafka-certs; for Kubernetes, run it once by hand (docs/deploy.md, "Kafka").
# Idempotent: when the three output files exist it does nothing.
#
# Writes
#   $KAFKA_TLS_DIR/broker.p12         the broker's key and certificate chain (PKCS#12): the broker only
#   $KAFKA_TLS_DIR/keystore-password  its random password
#   $KAFKA_CA_DIR/ca.crt              the CA certificate (PEM): every client's KAFKA_SSL_CA_FILE, and
#                                     what the broker trusts on its mutual-TLS internal listeners
#
# The CA's private key never leaves this script's temporary directory: once the broker certificate
# is signed nothing can mint another certificate this broker trusts. To re-issue (expiry, a new
# host name), delete the three files and run again; clients then need the new ca.crt.
#
# Settings: KAFKA_CERT_SANS  subjectAltName list in keytool's syntax: every name clients and the
#                            broker itself use (default: dns:kafka,dns:localhost,ip:127.0.0.1)
#           KAFKA_CERT_DAYS  validity (default 825)
set -euo pipefail

tls_dir=${KAFKA_TLS_DIR:-/etc/kafka/secrets}
ca_dir=${KAFKA_CA_DIR:-/mnt/shared/config}
sans=${KAFKA_CERT_SANS:-dns:kafka,dns:localhost,ip:127.0.0.1}
days=${KAFKA_CERT_DAYS:-825}

if [ -s "$tls_dir/broker.p12" ] && [ -s "$tls_dir/keystore-password" ] && [ -s "$ca_dir/ca.crt" ]; then
  echo "kafka-certs: $tls_dir/broker.p12 and $ca_dir/ca.crt exist, nothing to do"
  exit 0
fi
# The broker's internal listeners are reached at 127.0.0.1 with host-name verification on.
case ",$sans," in
  *,ip:127.0.0.1,*) ;;
  *) echo "kafka-certs: KAFKA_CERT_SANS must include ip:127.0.0.1 (the broker's internal listeners)" >&2; exit 1 ;;
esac

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Hex: no character a properties file or a shell could misread. Given to keytool through the
# environment, never on a command line.
KEYSTORE_PASSWORD=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export KEYSTORE_PASSWORD
# Eight short-lived JVMs: C1 only and the serial collector halve their start-up time.
kt() {
  local command=$1
  shift
  keytool -J-XX:TieredStopAtLevel=1 -J-XX:+UseSerialGC "$command" -storetype PKCS12 -storepass:env KEYSTORE_PASSWORD "$@"
}

# P-256 keys and SHA-256 signatures: understood by the JVM broker and by Node's TLS (kafkajs).
kt -genkeypair -alias ca -keystore "$work/ca.p12" -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA \
  -dname "CN=Gatehouse development Kafka CA" -validity "$days" \
  -ext BasicConstraints:critical=ca:true,pathlen:0 -ext KeyUsage:critical=keyCertSign,cRLSign
kt -exportcert -rfc -alias ca -keystore "$work/ca.p12" -file "$work/ca.crt"

# The broker's certificate serves its TLS listeners and is its client certificate towards its own
# controller listener, whose principal (User:CN=kafka-broker) is a super user: hence clientAuth.
kt -genkeypair -alias broker -keystore "$work/broker.p12" -keyalg EC -groupname secp256r1 -sigalg SHA256withECDSA \
  -dname "CN=kafka-broker" -validity "$days"
kt -certreq -alias broker -keystore "$work/broker.p12" -file "$work/broker.csr"
kt -gencert -alias ca -keystore "$work/ca.p12" -infile "$work/broker.csr" -outfile "$work/broker.crt" -rfc \
  -sigalg SHA256withECDSA -validity "$days" \
  -ext "SubjectAlternativeName=$sans" -ext KeyUsage:critical=digitalSignature \
  -ext ExtendedKeyUsage=serverAuth,clientAuth
# keytool accepts a signed reply only when it can build the chain: the CA goes in first, and out
# again once the reply has been imported (the key entry keeps the chain broker -> CA).
kt -importcert -noprompt -alias ca -file "$work/ca.crt" -keystore "$work/broker.p12"
kt -importcert -noprompt -alias broker -file "$work/broker.crt" -keystore "$work/broker.p12"
kt -delete -alias ca -keystore "$work/broker.p12"

mkdir -p "$tls_dir" "$ca_dir"
cp "$work/broker.p12" "$tls_dir/broker.p12"
printf '%s' "$KEYSTORE_PASSWORD" >"$tls_dir/keystore-password"
# Public: readable by the clients' own users. Written last, so its presence means "complete".
install -m 0644 "$work/ca.crt" "$ca_dir/ca.crt"
echo "kafka-certs: issued CN=kafka-broker ($sans), valid $days days"
