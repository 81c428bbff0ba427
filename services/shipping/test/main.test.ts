// The deployable's entry point: configuration from the environment, a real listening port, a shared
// in-process bus (as the all-in-one stack passes it), and a clean close.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedBus } from '@gatehouse/event-bus';
import t from 'tap';
import { freePort } from '../../../token-service/test/support/token-service.ts';
import { startShippingService } from '../src/main.ts';

t.test('startShippingService listens on SHIPPING_PORT and closes cleanly', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-shipping-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const bus = createEmbeddedBus();
  t.teardown(() => bus.close());
  const running = await startShippingService(
    { NODE_ENV: 'test', LOG_LEVEL: 'silent', SHIPPING_PORT: String(port), AUDIT_LOG: join(dir, 'audit.jsonl') },
    bus,
  );
  t.equal(running.bus, bus, 'the shared bus is used');
  t.equal(running.config.port, port);
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.same(await health.json(), { status: 'ok' });
  const refused = await fetch(`http://127.0.0.1:${port}/shipments`);
  t.equal(refused.status, 401);
  await running.close();
  await t.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'closed');
  t.ok(await bus.ping(), 'a shared bus is left open for its owner');
  const audit = await readFile(join(dir, 'audit.jsonl'), 'utf8');
  t.match(audit, /"event":"auth.failure"/, 'the audit stream went to AUDIT_LOG');
});
