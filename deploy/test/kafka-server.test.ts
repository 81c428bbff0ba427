// k8s/kafka/server.sh: the broker's configuration (listeners, SCRAM, TLS, authorizer), the storage
// format with the admin credential, and its refusals. Kafka's tools are stand-ins (support/shell.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runScript, stubKafka } from './support/shell.ts';

const SCRIPT = 'k8s/kafka/server.sh';
const ADMIN = 'a1b2c3d4e5f6a7b8c9d0';

function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-server-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kafka = stubKafka(dir);
  const tls = join(dir, 'tls');
  mkdirSync(tls);
  writeFileSync(join(tls, 'broker.p12'), 'p12');
  writeFileSync(join(tls, 'keystore-password'), 'storepass\n');
  writeFileSync(join(dir, 'ca.crt'), 'PEM');
  const env = {
    ...kafka.env,
    KAFKA_CLUSTER_ID: 'Zoa9ck62KtCFDkyATk5wrA',
    KAFKA_ADVERTISED_HOST: 'kafka',
    KAFKA_ADMIN_PASSWORD: ADMIN,
    KAFKA_TLS_DIR: tls,
    KAFKA_CA_FILE: join(dir, 'ca.crt'),
    KAFKA_DATA_DIR: join(dir, 'data'),
  };
  return { dir, kafka, env, tls };
}

function properties(text: string): Map<string, string> {
  const entries = text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as [string, string]);
  return new Map(entries);
}

t.test('configures SASL_SSL/SCRAM-SHA-512 for clients, mutual TLS inside, deny by default', async (t) => {
  const { kafka, env, tls } = setup(t);
  const run = runScript(SCRIPT, env);
  t.equal(run.code, 0, run.stderr);
  const p = properties(kafka.file('server.properties'));
  t.equal(p.get('listeners'), 'CLIENTS://0.0.0.0:9092,BROKER://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093');
  t.equal(p.get('advertised.listeners'), 'CLIENTS://kafka:9092,BROKER://127.0.0.1:9094', 'the controller is not advertised');
  t.equal(p.get('listener.security.protocol.map'), 'CLIENTS:SASL_SSL,BROKER:SSL,CONTROLLER:SSL');
  t.equal(p.get('listener.name.clients.sasl.enabled.mechanisms'), 'SCRAM-SHA-512', 'no PLAIN, no SHA-256');
  t.equal(p.get('listener.name.broker.ssl.client.auth'), 'required');
  t.equal(p.get('listener.name.controller.ssl.client.auth'), 'required');
  t.equal(p.get('authorizer.class.name'), 'org.apache.kafka.metadata.authorizer.StandardAuthorizer');
  t.equal(p.get('super.users'), 'User:admin;User:CN=kafka-broker');
  t.equal(p.get('allow.everyone.if.no.acl.found'), 'false');
  t.equal(p.get('auto.create.topics.enable'), 'false');
  t.equal(p.get('ssl.keystore.location'), join(tls, 'broker.p12'));
  t.equal(p.get('ssl.keystore.password'), 'storepass', 'read from the file, without its newline');
  t.equal(p.get('ssl.truststore.type'), 'PEM');
  t.equal(p.get('ssl.endpoint.identification.algorithm'), 'https');
  t.notMatch(kafka.file('server.properties'), ADMIN, 'the admin password is not in the broker configuration');
});

t.test('formats the storage once, with the admin SCRAM credential, then starts the broker', async (t) => {
  const { kafka, env } = setup(t);
  const run = runScript(SCRIPT, env);
  t.equal(run.code, 0, run.stderr);
  const [format, start] = kafka.calls();
  t.equal(format?.[0], 'kafka-storage');
  t.ok(format?.includes('--ignore-formatted'), 'a formatted volume is left alone');
  t.equal(format?.[format.indexOf('--cluster-id') + 1], 'Zoa9ck62KtCFDkyATk5wrA');
  t.equal(format?.[format.indexOf('--add-scram') + 1], `SCRAM-SHA-512=[name=admin,password=${ADMIN}]`);
  t.equal(start?.[0], 'kafka-server-start');
  const startEnv = kafka.file('server-env');
  t.match(startEnv, /^EXTRA_ARGS=-name kafkaServer$/m, 'no -loggc: no GC log files');
  t.match(startEnv, /^KAFKA_LOG4J_OPTS=-Dlog4j2\.configurationFile=file:.*log4j2\.properties$/m);
  t.match(startEnv, /^KAFKA_HEAP_OPTS=-Xms512m -Xmx512m$/m);
});

t.test('reads the admin password from KAFKA_ADMIN_PASSWORD_FILE', async (t) => {
  const { dir, kafka, env } = setup(t);
  writeFileSync(join(dir, 'admin'), `${ADMIN}\n`);
  const { KAFKA_ADMIN_PASSWORD: _, ...rest } = env;
  const run = runScript(SCRIPT, { ...rest, KAFKA_ADMIN_PASSWORD_FILE: join(dir, 'admin') });
  t.equal(run.code, 0, run.stderr);
  const [format] = kafka.calls();
  t.equal(format?.[format.indexOf('--add-scram') + 1], `SCRAM-SHA-512=[name=admin,password=${ADMIN}]`);
});

t.test('refuses an admin password that is short or would break the SCRAM string (exit 78)', async (t) => {
  for (const bad of ['', 'short', 'has,comma-and-more-chars', 'has]bracket-and-more-chars', 'has"quote-and-more-chars']) {
    const { kafka, env } = setup(t);
    const run = runScript(SCRIPT, { ...env, KAFKA_ADMIN_PASSWORD: bad });
    t.equal(run.code, 78, JSON.stringify(bad));
    t.match(run.stderr, /KAFKA_ADMIN_PASSWORD must be at least 16 characters/);
    t.same(kafka.calls(), [], 'nothing formatted, nothing started');
  }
});

t.test('refuses to start without its TLS material (exit 78)', async (t) => {
  const { kafka, env, tls } = setup(t);
  rmSync(join(tls, 'broker.p12'));
  const run = runScript(SCRIPT, env);
  t.equal(run.code, 78);
  t.match(run.stderr, /broker\.p12 is missing \(run certs\.sh first\)/);
  t.same(kafka.calls(), []);
});

t.test('refuses to start without a cluster id or an advertised host', async (t) => {
  for (const missing of ['KAFKA_CLUSTER_ID', 'KAFKA_ADVERTISED_HOST'] as const) {
    const { kafka, env } = setup(t);
    const run = runScript(SCRIPT, { ...env, [missing]: '' });
    t.not(run.code, 0, missing);
    t.match(run.stderr, missing);
    t.same(kafka.calls(), []);
  }
});
