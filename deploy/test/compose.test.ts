// compose.yaml as data: hardening of every container, what is published, and that the settings
// that must agree across services do (Kafka users and passwords, database roles, topics, the
// gateway's dev upstreams in the shared network namespace). `docker-compose config` too, when
// installed (client side only: no Docker engine is needed).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { composeDefault, type Doc, repoPath, which, yamlFile } from './support/repo.ts';

const compose = yamlFile('compose.yaml');
const services = compose.services as Record<string, Doc>;
const env = (service: string, name: string): string => composeDefault(String(services[service]?.environment?.[name] ?? ''));
const SERVICES = { sales: 4100, shipping: 4200, invoicing: 4300 } as const;
const CONSUMERS = ['shipping', 'invoicing'] as const;
const initScript = readFileSync(repoPath('k8s/kafka/init.sh'), 'utf8');
/** init.sh's default for a setting: ${NAME:-default}. */
const initDefault = (name: string) => new RegExp(`\\$\\{${name}:-([^}]+)\\}`).exec(initScript)?.[1];

t.test('every container is read-only, without capabilities or privilege escalation', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    t.equal(service.read_only, true, `${name}: read_only`);
    t.same(service.cap_drop, ['ALL'], `${name}: cap_drop ALL`);
    t.ok((service.security_opt as string[]).includes('no-new-privileges:true'), `${name}: no-new-privileges`);
  }
});

t.test('only the token service publishes ports, and only on 127.0.0.1', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    if (name === 'token-service') {
      for (const port of service.ports as string[]) t.match(port, /^127\.0\.0\.1:/, port);
    } else {
      t.notOk(service.ports, `${name} publishes nothing`);
    }
  }
});

t.test('the services share the token service namespace, listen on its loopback, check /readyz', async (t) => {
  const routes = JSON.parse(readFileSync(repoPath('gateway/routes.dev.json'), 'utf8')).routes as Doc[];
  for (const [name, port] of Object.entries(SERVICES)) {
    const service = services[name]!;
    const prefix = name.toUpperCase();
    t.equal(service.network_mode, 'service:token-service', `${name}: issuer http://localhost:4000 reachable`);
    t.equal(env(name, `${prefix}_HOST`), '127.0.0.1');
    t.equal(env(name, `${prefix}_PORT`), String(port));
    t.equal(env(name, 'NODE_ENV'), 'development');
    t.equal(env(name, 'TOKEN_SERVICE_URL'), env('token-service', 'ISSUER'), `${name}: TOKEN_SERVICE_URL is the issuer`);
    t.equal(env(name, 'AUDIT_LOG'), 'stderr', `${name}: the root file system is read-only`);
    t.same(service.command, ['node', `services/${name}/src/main.ts`]);
    t.match(service.healthcheck.test.join(' '), `http://127.0.0.1:${port}/readyz`);
    const upstreams = routes.filter((route) => route.upstream === `http://127.0.0.1:${port}`);
    t.ok(upstreams.length > 0, `the dev route table reaches ${name} on 127.0.0.1:${port}`);
    t.same(Object.keys(service.depends_on).sort(), [
      'kafka-init',
      'postgres',
      'redis',
      'token-service',
    ]);
    t.equal(service.depends_on['kafka-init'].condition, 'service_completed_successfully');
  }
  t.equal(services.gateway?.network_mode, 'service:token-service');
});

t.test('each service logs in to Kafka as itself, with the password kafka-init sets', async (t) => {
  for (const name of Object.keys(SERVICES)) {
    t.equal(env(name, 'KAFKA_BROKERS'), 'kafka:9092');
    t.equal(env(name, 'KAFKA_SSL'), 'true');
    t.equal(env(name, 'KAFKA_SASL_MECHANISM'), 'scram-sha-512');
    t.equal(env(name, 'KAFKA_SASL_USERNAME'), name);
    const password = env(name, 'KAFKA_SASL_PASSWORD');
    t.equal(password, env('kafka-init', `${name.toUpperCase()}_KAFKA_PASSWORD`), `${name}: same password as kafka-init`);
    t.match(password, /^[A-Za-z0-9_-]{16,}$/, 'a password init.sh accepts');
    t.equal(env(name, 'KAFKA_SSL_CA_FILE'), '/etc/gatehouse/kafka-ca/ca.crt');
    t.ok((services[name]!.volumes as string[]).includes('kafka-ca:/etc/gatehouse/kafka-ca:ro'), `${name} mounts the CA`);
    t.notOk((services[name]!.volumes as string[]).some((v) => v.startsWith('kafka-tls:')), `${name} never sees the broker key`);
  }
  t.equal(env('kafka-init', 'KAFKA_ADMIN_PASSWORD'), env('kafka', 'KAFKA_ADMIN_PASSWORD'));
});

t.test('topics and groups agree between the consumers, the producer and kafka-init', async (t) => {
  const topic = env('kafka-init', 'EVENTS_TOPIC');
  t.equal(env('sales', 'EVENTS_TOPIC'), topic);
  for (const name of CONSUMERS) {
    const prefix = name.toUpperCase();
    t.equal(env(name, 'EVENTS_TOPIC'), topic);
    t.equal(env(name, `${prefix}_GROUP_ID`), initDefault(`${prefix}_GROUP_ID`), `${name}: the group its ACL names`);
    t.equal(env(name, `${prefix}_DLQ_TOPIC`), initDefault(`${prefix}_DLQ_TOPIC`), `${name}: the topic its ACL names`);
    t.equal(env(name, `${prefix}_DLQ_TOPIC`), `orders.${name}.dlq`, 'docs/events.md');
  }
});

t.test('each service uses its own database role, created by the postgres init script', async (t) => {
  for (const name of Object.keys(SERVICES)) {
    const url = new URL(env(name, 'DATABASE_URL'));
    t.equal(url.username, name);
    t.equal(url.pathname, `/${name}`);
    t.equal(url.host, 'postgres:5432');
    t.equal(url.password, env('postgres', `${name.toUpperCase()}_DB_PASSWORD`), `${name}: the password postgres was initialised with`);
  }
  t.ok((services.postgres?.volumes as string[]).includes('./k8s/postgres/init.sh:/docker-entrypoint-initdb.d/10-gatehouse.sh:ro'));
});

t.test('the sales key pair is shared read-only, apart from the token service key store', async (t) => {
  t.ok((services['token-service']?.volumes as string[]).includes('dev-client-keys:/var/lib/gatehouse/clients'));
  t.ok((services.sales?.volumes as string[]).includes('dev-client-keys:/etc/gatehouse/dev-client-keys:ro'));
  t.equal(env('sales', 'SALES_SIGNING_KEY_FILE'), '/etc/gatehouse/dev-client-keys/sales.private.jwk.json');
  for (const [name, service] of Object.entries(services)) {
    if (name === 'token-service') continue;
    t.notOk(((service.volumes ?? []) as string[]).some((v) => v.startsWith('token-service-data:')), `${name}: no key store`);
  }
});

t.test('every file it mounts exists in the repository', async (t) => {
  for (const [name, service] of Object.entries(services)) {
    for (const volume of (service.volumes ?? []) as string[]) {
      if (volume.startsWith('./')) t.ok(existsSync(repoPath(volume.split(':')[0]!)), `${name}: ${volume}`);
    }
  }
});

const compose1 = which('docker-compose');
t.test('docker-compose config accepts it', { skip: compose1 ? false : 'docker-compose not installed' }, async (t) => {
  const result = spawnSync(compose1!, ['-f', repoPath('compose.yaml'), 'config', '-q'], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
});
