// k8s/ as data, the way `kubectl apply -k k8s/` sees it: pod hardening, a network policy for every
// pod and the ports the gateway and the services agree on, settings the services really read,
// and every Secret or ConfigMap a pod needs either applied or shown in templates/. Plus
// `kubectl kustomize`, when kubectl is installed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseRoutes } from '../../gateway/src/routes.ts';
import { type Doc, kustomizeK8s, repoPath, which, yamlDocs } from './support/repo.ts';

const docs = kustomizeK8s();
const templates = yamlDocs('k8s', 'templates', 'secrets.example.yaml');
const of = (kind: string) => docs.filter((doc) => doc.kind === kind);
const named = (kind: string, name: string) => docs.find((doc) => doc.kind === kind && doc.metadata.name === name);
const workloads = [...of('Deployment'), ...of('StatefulSet'), ...of('Job')];
const appName = (workload: Doc) => workload.spec.template.metadata.labels['app.kubernetes.io/name'] as string;
const SERVICES = { sales: 4100, shipping: 4200, invoicing: 4300 } as const;

t.test('every pod is hardened', async (t) => {
  t.ok(workloads.length >= 8, 'token-service, gateway, redis, kafka, kafka-init, postgres, 3 services');
  for (const workload of workloads) {
    const pod = workload.spec.template.spec;
    const name = workload.metadata.name;
    t.equal(pod.securityContext.runAsNonRoot, true, `${name}: runAsNonRoot`);
    t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', `${name}: seccomp`);
    t.equal(pod.automountServiceAccountToken, false, `${name}: no service account token`);
    if (name !== 'token-service' && name !== 'gateway' && name !== 'redis') {
      t.equal(pod.enableServiceLinks, false, `${name}: no Docker-link variables`);
    }
    for (const container of pod.containers as Doc[]) {
      t.equal(container.securityContext.readOnlyRootFilesystem, true, `${name}: read-only root`);
      t.equal(container.securityContext.allowPrivilegeEscalation, false, `${name}: no privilege escalation`);
      t.same(container.securityContext.capabilities.drop, ['ALL'], `${name}: no capabilities`);
      t.ok(container.resources?.limits?.memory, `${name}: a memory limit`);
    }
  }
});

/** Whether a policy's podSelector picks pods labelled name (matchLabels or an In expression). */
function selects(selector: Doc, name: string): boolean {
  if (selector.matchLabels) return selector.matchLabels['app.kubernetes.io/name'] === name;
  return (selector.matchExpressions as Doc[]).some(
    (e) => e.key === 'app.kubernetes.io/name' && e.operator === 'In' && (e.values as string[]).includes(name),
  );
}

const policyFor = (name: string) => of('NetworkPolicy').find((p) => p.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === name);

t.test('every pod has its own network policy under a default deny', async (t) => {
  const deny = named('NetworkPolicy', 'default-deny');
  t.same(deny?.spec, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  for (const workload of workloads) {
    const policy = policyFor(appName(workload));
    t.ok(policy, `${appName(workload)} has a policy`);
    t.same(policy?.spec.policyTypes, ['Ingress', 'Egress']);
  }
});

/** Whether a policy's rules (ingress from / egress to) let peer `name` through on port. */
function allows(rules: Doc[] | undefined, side: 'from' | 'to', name: string, port: number): boolean {
  return (rules ?? []).some(
    (rule) =>
      (rule[side] as Doc[]).some((peer) => peer.podSelector && !peer.namespaceSelector && selects(peer.podSelector, name)) &&
      (rule.ports as Doc[]).some((p) => p.port === port),
  );
}

t.test('the gateway, the services and their infrastructure can reach each other, and only so', async (t) => {
  const routes = parseRoutes(JSON.parse(named('ConfigMap', 'gateway-routes')?.data['routes.json']), 'gateway-routes');
  for (const [name, port] of Object.entries(SERVICES)) {
    const service = named('Service', name);
    const deployment = named('Deployment', name);
    t.equal(service?.spec.ports[0].port, port, `${name} Service port`);
    t.equal(deployment?.spec.template.spec.containers[0].ports[0].containerPort, port);
    t.ok(routes.some((route) => route.upstream === `http://${name}.gatehouse.svc:${port}`), `a route reaches ${name}`);
    t.ok(allows(policyFor('gateway')?.spec.egress, 'to', name, port), `gateway may call ${name}:${port}`);
    t.ok(allows(policyFor(name)?.spec.ingress, 'from', 'gateway', port), `${name} admits the gateway`);
    t.ok(allows(policyFor(name)?.spec.egress, 'to', 'kafka', 9092), `${name} may call Kafka`);
    t.ok(allows(policyFor('kafka')?.spec.ingress, 'from', name, 9092), `Kafka admits ${name}`);
    t.ok(allows(policyFor(name)?.spec.egress, 'to', 'postgres', 5432), `${name} may call PostgreSQL`);
    t.ok(allows(policyFor('postgres')?.spec.ingress, 'from', name, 5432), `PostgreSQL admits ${name}`);
    t.ok(allows(policyFor(name)?.spec.egress, 'to', 'token-service', 4000), `${name} may call the token service`);
    t.ok(allows(policyFor('token-service')?.spec.ingress, 'from', name, 4000));
    // Every service reads the token service's revoked-token deny list.
    t.ok(allows(policyFor(name)?.spec.egress, 'to', 'redis', 6379), `${name} may read Redis`);
    t.ok(allows(policyFor('redis')?.spec.ingress, 'from', name, 6379), `Redis admits ${name}`);
  }
  t.ok(allows(policyFor('kafka-init')?.spec.egress, 'to', 'kafka', 9092));
  t.ok(allows(policyFor('kafka')?.spec.ingress, 'from', 'kafka-init', 9092));
  t.notOk(allows(policyFor('kafka')?.spec.ingress, 'from', 'gateway', 9092), 'the gateway never talks to Kafka');
  t.notOk(allows(policyFor('postgres')?.spec.ingress, 'from', 'gateway', 5432));
  t.same(policyFor('postgres')?.spec.egress, [], 'PostgreSQL calls out to nothing');
});

/** Every setting name the service's configuration schema reads. */
function knownSettings(name: string): string {
  const files = [`services/${name}/src/config.ts`, 'packages/event-bus/src/settings.ts'];
  if (name !== 'sales') files.push('services/consumer/src/config.ts');
  return files.map((file) => readFileSync(repoPath(file), 'utf8')).join('\n');
}

t.test('the services are given only settings they read', async (t) => {
  for (const name of Object.keys(SERVICES)) {
    const source = knownSettings(name);
    const settings = named('ConfigMap', `${name}-settings`)?.data as Record<string, string>;
    const container = named('Deployment', name)?.spec.template.spec.containers[0];
    const names = [...Object.keys(settings), ...(container.env as Doc[]).map((e) => e.name as string)];
    for (const setting of names) t.match(source, new RegExp(`\\b${setting}\\b`), `${name} reads ${setting}`);
    t.equal(settings.NODE_ENV, 'production');
    t.equal(settings.KAFKA_SASL_USERNAME, name, 'its own Kafka user');
    t.equal(settings.KAFKA_SASL_MECHANISM, 'scram-sha-512');
  }
});

t.test('kafka-init makes the topics and groups the services use', async (t) => {
  const job = named('Job', 'kafka-init')?.spec.template.spec.containers[0];
  const jobEnv = Object.fromEntries((job.env as Doc[]).map((e) => [e.name, e.value]));
  for (const name of Object.keys(SERVICES)) {
    t.equal(named('ConfigMap', `${name}-settings`)?.data.EVENTS_TOPIC, jobEnv.EVENTS_TOPIC);
    const kafkaPassword = (job.env as Doc[]).find((e) => e.name === `${name.toUpperCase()}_KAFKA_PASSWORD`);
    t.same(kafkaPassword?.valueFrom.secretKeyRef, { name: `${name}-secrets`, key: 'KAFKA_SASL_PASSWORD' }, `${name}: the password it logs in with`);
  }
  const initScript = readFileSync(repoPath('k8s/kafka/init.sh'), 'utf8');
  for (const name of ['shipping', 'invoicing']) {
    const settings = named('ConfigMap', `${name}-settings`)?.data;
    t.match(initScript, `\${${name.toUpperCase()}_GROUP_ID:-${settings[`${name.toUpperCase()}_GROUP_ID`]}}`);
    t.match(initScript, `\${${name.toUpperCase()}_DLQ_TOPIC:-${settings[`${name.toUpperCase()}_DLQ_TOPIC`]}}`);
  }
});

t.test('every Secret and ConfigMap a pod needs is applied or shown in templates/', async (t) => {
  const shapes = new Map<string, Set<string>>([
    // Printed by the keys CLI (npm run keys -- export --k8s), never typed in: not a template.
    ['Secret/gatehouse-signing-keys', new Set(['keystore.json'])],
  ]);
  for (const doc of [...templates, ...docs]) {
    if (doc.kind !== 'Secret' && doc.kind !== 'ConfigMap') continue;
    shapes.set(`${doc.kind}/${doc.metadata.name}`, new Set(Object.keys({ ...doc.data, ...doc.stringData })));
  }
  const need = (kind: string, name: string, key: string | undefined, who: string) => {
    const keys = shapes.get(`${kind}/${name}`);
    t.ok(keys, `${who}: ${kind} ${name} exists`);
    if (key !== undefined) t.ok(keys?.has(key), `${who}: ${kind} ${name} has ${key}`);
  };
  for (const workload of workloads) {
    const pod = workload.spec.template.spec;
    const who = workload.metadata.name;
    for (const container of pod.containers as Doc[]) {
      for (const e of (container.env ?? []) as Doc[]) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) need('Secret', ref.name, ref.key, who);
      }
      for (const from of (container.envFrom ?? []) as Doc[]) need('ConfigMap', from.configMapRef.name, undefined, who);
    }
    for (const volume of (pod.volumes ?? []) as Doc[]) {
      const source = volume.secret ?? volume.configMap;
      if (!source) continue;
      const kind = volume.secret ? 'Secret' : 'ConfigMap';
      const name = source.secretName ?? source.name;
      const items = (source.items ?? [undefined]) as (Doc | undefined)[];
      for (const item of items) need(kind, name, item?.key, who);
    }
  }
});

const kubectl = which('kubectl');
t.test('kubectl kustomize renders it', { skip: kubectl ? false : 'kubectl not installed' }, async (t) => {
  const result = spawnSync(kubectl!, ['kustomize', repoPath('k8s')], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /name: kafka-scripts-[a-z0-9]+/, 'generated script ConfigMaps');
});
