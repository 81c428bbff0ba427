// k8s/kafka/init.sh: the SCRAM users, topics and ACLs it asks Kafka for (through stand-ins for
// Kafka's CLI tools, support/shell.ts), that no password reaches a command line, and its refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runScript, stubKafka } from './support/shell.ts';

const SCRIPT = 'k8s/kafka/init.sh';
const PASSWORDS = {
  KAFKA_ADMIN_PASSWORD: 'admin-0123456789abcdef',
  SALES_KAFKA_PASSWORD: 'sales-0123456789abcdef',
  SHIPPING_KAFKA_PASSWORD: 'shipping-0123456789ab',
  INVOICING_KAFKA_PASSWORD: 'invoicing-0123456789a',
};

function setup(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-init-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kafka = stubKafka(dir);
  writeFileSync(join(dir, 'ca.crt'), 'PEM');
  const env = { ...kafka.env, ...PASSWORDS, KAFKA_BOOTSTRAP: 'kafka:9092', KAFKA_CA_FILE: join(dir, 'ca.crt') };
  return { dir, kafka, env };
}

/** The ACLs asked for, as "principal operation resource-type resource". */
function acls(calls: string[][]): string[] {
  return calls
    .filter((call) => call[0] === 'kafka-acls' && call.includes('--add'))
    .map((call) => {
      const at = (flag: string) => call[call.indexOf(flag) + 1];
      const resource = call.includes('--topic') ? `topic ${at('--topic')}` : `group ${at('--group')}`;
      return `${at('--allow-principal')} ${at('--operation')} ${resource}`;
    })
    .sort();
}

t.test('grants each service exactly what it does, and nothing else', async (t) => {
  const { kafka, env } = setup(t);
  const run = runScript(SCRIPT, env);
  t.equal(run.code, 0, run.stderr);
  t.same(acls(kafka.calls()), [
    'User:invoicing Read group invoicing',
    'User:invoicing Read topic orders',
    'User:invoicing Write topic orders.invoicing.dlq',
    'User:sales Write topic orders',
    'User:shipping Read group shipping',
    'User:shipping Read topic orders',
    'User:shipping Write topic orders.shipping.dlq',
  ]);
  const all = kafka.calls().flat().join(' ');
  t.notMatch(all, /--operation (All|Create|Alter|Delete|ClusterAction)/, 'no broad or administrative operation');
  t.notMatch(all, /--resource-pattern-type prefixed|--topic \*|--group \*/, 'literal names only');
  t.match(run.stdout, /kafka-init: done/);
});

t.test('follows the topic and group settings', async (t) => {
  const { kafka, env } = setup(t);
  const run = runScript(SCRIPT, {
    ...env,
    EVENTS_TOPIC: 'orders-v2',
    SHIPPING_GROUP_ID: 'shipping-eu',
    SHIPPING_DLQ_TOPIC: 'orders-v2.shipping.dlq',
  });
  t.equal(run.code, 0, run.stderr);
  const granted = acls(kafka.calls());
  t.ok(granted.includes('User:sales Write topic orders-v2'));
  t.ok(granted.includes('User:shipping Read group shipping-eu'));
  t.ok(granted.includes('User:shipping Write topic orders-v2.shipping.dlq'));
});

t.test('sets one SCRAM-SHA-512 credential per service, from files, never on a command line', async (t) => {
  const { kafka, env } = setup(t);
  const run = runScript(SCRIPT, env);
  t.equal(run.code, 0, run.stderr);
  const calls = kafka.calls();
  const users = calls.filter((call) => call[0] === 'kafka-configs' && call.includes('users'));
  t.same(
    users.map((call) => call[call.indexOf('--entity-name') + 1]),
    ['sales', 'shipping', 'invoicing'],
  );
  const files = calls.filter((call) => call[0] === 'FILE').map((call) => call[1]);
  t.same(files, [
    `SCRAM-SHA-512=iterations=8192,password=${PASSWORDS.SALES_KAFKA_PASSWORD}`,
    `SCRAM-SHA-512=iterations=8192,password=${PASSWORDS.SHIPPING_KAFKA_PASSWORD}`,
    `SCRAM-SHA-512=iterations=8192,password=${PASSWORDS.INVOICING_KAFKA_PASSWORD}`,
  ]);
  const commandLines = calls.filter((call) => call[0] !== 'FILE').flat().join(' ');
  for (const [name, password] of Object.entries(PASSWORDS)) t.notMatch(commandLines, password, `${name} not in argv`);
  const admin = kafka.file('command-config.properties');
  t.match(admin, /^security\.protocol=SASL_SSL$/m);
  t.match(admin, /^sasl\.mechanism=SCRAM-SHA-512$/m);
  t.match(admin, `username="admin" password="${PASSWORDS.KAFKA_ADMIN_PASSWORD}";`);
  t.match(admin, /^ssl\.truststore\.type=PEM$/m);
});

t.test('creates the events topic and both dead-letter topics with their settings', async (t) => {
  const { kafka, env } = setup(t);
  const run = runScript(SCRIPT, { ...env, KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' });
  t.equal(run.code, 0, run.stderr);
  const creates = kafka.calls().filter((call) => call[0] === 'kafka-topics' && call.includes('--create'));
  t.same(
    creates.map((call) => call[call.indexOf('--topic') + 1]),
    ['orders', 'orders.shipping.dlq', 'orders.invoicing.dlq'],
  );
  for (const call of creates) {
    t.ok(call.includes('--if-not-exists'), 're-runs keep existing topics');
    t.equal(call[call.indexOf('--partitions') + 1], '3');
    t.equal(call[call.indexOf('--replication-factor') + 1], '3');
    t.ok(call.includes('min.insync.replicas=2'));
  }
});

t.test('refuses a missing or unusable password before calling Kafka (exit 78)', async (t) => {
  for (const name of Object.keys(PASSWORDS)) {
    for (const bad of ['', 'short', 'with"quote-0123456789', 'with,comma-0123456789']) {
      const { kafka, env } = setup(t);
      const run = runScript(SCRIPT, { ...env, [name]: bad });
      t.equal(run.code, 78, `${name}=${JSON.stringify(bad)}`);
      t.match(run.stderr, `${name} must be at least 16 characters`);
      t.same(kafka.calls(), [], 'no tool called');
    }
  }
});

t.test('reads passwords from *_FILE', async (t) => {
  const { dir, kafka, env } = setup(t);
  writeFileSync(join(dir, 'sales'), `${PASSWORDS.SALES_KAFKA_PASSWORD}\n`);
  const { SALES_KAFKA_PASSWORD: _, ...rest } = env;
  const run = runScript(SCRIPT, { ...rest, SALES_KAFKA_PASSWORD_FILE: join(dir, 'sales') });
  t.equal(run.code, 0, run.stderr);
  t.ok(kafka.calls().some((call) => call[0] === 'FILE' && call[1]?.endsWith(`password=${PASSWORDS.SALES_KAFKA_PASSWORD}`)));
});

t.test('gives up with exit 78 when the broker does not answer as admin', async (t) => {
  const { kafka, env } = setup(t);
  const run = runScript(SCRIPT, { ...env, STUB_FAIL_kafka_broker_api_versions: '1', KAFKA_INIT_ATTEMPTS: '1' });
  t.equal(run.code, 78);
  t.match(run.stderr, /no answer from kafka:9092 as admin/);
  t.notOk(kafka.calls().some((call) => call[0] !== 'kafka-broker-api-versions'), 'nothing changed');
});

t.test('stops at the first tool that fails', async (t) => {
  const { kafka, env } = setup(t);
  const run = runScript(SCRIPT, { ...env, STUB_FAIL_kafka_topics: '1' });
  t.not(run.code, 0);
  t.notOk(kafka.calls().some((call) => call[0] === 'kafka-acls'), 'no ACL after a failed topic');
  t.notMatch(run.stdout, /kafka-init: done/);
});
