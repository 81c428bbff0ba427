// k8s/kafka/certs.sh with the real keytool: the broker's certificate verifies against the CA it
// writes for the names in KAFKA_CERT_SANS only, serves as a TLS client certificate too (the
// broker's own principal), the CA key is gone, and a second run changes nothing. keytool starts a
// JVM per step, so the material is issued once per set of names and shared by the tests.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import t, { type Test } from 'tap';
import { inCi, which } from './support/repo.ts';
import { runScript } from './support/shell.ts';

const MISSING = 'keytool not installed (apt-get install openjdk-17-jre-headless)';

function issue(t: Test, sans = 'dns:kafka,dns:localhost,ip:127.0.0.1') {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-certs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = { KAFKA_TLS_DIR: join(dir, 'tls'), KAFKA_CA_DIR: join(dir, 'ca'), KAFKA_CERT_SANS: sans, TMPDIR: dir };
  const run = runScript('k8s/kafka/certs.sh', env);
  return {
    dir,
    env,
    run,
    pfx: () => readFileSync(join(dir, 'tls', 'broker.p12')),
    passphrase: () => readFileSync(join(dir, 'tls', 'keystore-password'), 'utf8'),
    ca: () => readFileSync(join(dir, 'ca', 'ca.crt')),
  };
}

/** A TLS server with the broker's certificate that asks for a client certificate from the CA. */
async function broker(t: Test, material: ReturnType<typeof issue>): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  const server = tls.createServer(
    { pfx: material.pfx(), passphrase: material.passphrase(), ca: material.ca(), requestCert: true, rejectUnauthorized: true },
    (socket) => {
      peers.push(String(socket.getPeerCertificate().subject.CN));
      socket.end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, peers };
}

/** Connects as a client trusting only the CA, presenting the broker's certificate. */
function connect(port: number, material: ReturnType<typeof issue>, servername: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      ca: material.ca(),
      pfx: material.pfx(),
      passphrase: material.passphrase(),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(servername, cert),
    });
    socket.once('secureConnect', () => {
      socket.once('close', () => resolve('ok'));
      socket.resume();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

if (!which('keytool')) {
  if (inCi()) throw new Error(MISSING);
  t.test('certs.sh', { skip: MISSING }, async () => {});
} else {
  const material = issue(t);

  t.test('issues a broker certificate that verifies for its names only', async (t) => {
    t.equal(material.run.code, 0, material.run.stderr);
    const { port, peers } = await broker(t, material);
    t.equal(await connect(port, material, 'kafka'), 'ok', 'the compose name');
    t.equal(await connect(port, material, 'localhost'), 'ok');
    t.equal(await connect(port, material, 'kafka.example.org'), 'ERR_TLS_CERT_ALTNAME_INVALID', 'a name it was not issued for');
    t.same(peers, ['kafka-broker', 'kafka-broker'], 'its client certificate is accepted: principal CN=kafka-broker');
  });

  t.test('takes the names from KAFKA_CERT_SANS (Kubernetes)', async (t) => {
    const material = issue(t, 'dns:kafka.gatehouse.svc,dns:kafka-0.kafka.gatehouse.svc,ip:127.0.0.1');
    t.equal(material.run.code, 0, material.run.stderr);
    const { port } = await broker(t, material);
    t.equal(await connect(port, material, 'kafka-0.kafka.gatehouse.svc'), 'ok');
    t.equal(await connect(port, material, 'kafka'), 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  t.test('keeps the CA key nowhere and the broker key private', async (t) => {
    t.same(readdirSync(join(material.dir, 'tls')).sort(), ['broker.p12', 'keystore-password']);
    t.same(readdirSync(join(material.dir, 'ca')), ['ca.crt']);
    t.equal(statSync(join(material.dir, 'tls', 'broker.p12')).mode & 0o777, 0o600);
    t.equal(statSync(join(material.dir, 'tls', 'keystore-password')).mode & 0o777, 0o600);
    t.equal(statSync(join(material.dir, 'ca', 'ca.crt')).mode & 0o777, 0o644, 'the CA certificate is public');
    t.match(material.passphrase(), /^[0-9a-f]{64}$/);
    t.same(readdirSync(material.dir).sort(), ['ca', 'tls'], 'its scratch directory (with the CA key) is gone');
  });

  t.test('changes nothing when the files exist', async (t) => {
    const before = material.pfx();
    const again = runScript('k8s/kafka/certs.sh', material.env);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /exist, nothing to do/);
    t.same(material.pfx(), before);
  });

}

// No keytool needed: the check comes first.
t.test('refuses names without 127.0.0.1, which the broker calls itself by', async (t) => {
  const refused = issue(t, 'dns:kafka');
  t.equal(refused.run.code, 1);
  t.match(refused.run.stderr, /KAFKA_CERT_SANS must include ip:127\.0\.0\.1/);
  t.same(readdirSync(refused.dir), [], 'nothing written');
});
