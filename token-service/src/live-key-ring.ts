/**
 * The token service's view of the signing-key store, kept current without a restart: the store
 * file is watched (its directory, so Kubernetes' atomic ..data symlink swap of a mounted Secret
 * is seen too) and re-read on SIGHUP. A store that cannot be read, does not validate, has no
 * active key, or (in production) holds development keys is refused: the previous ring stays in
 * service and the failure is logged, audited and counted. The file is never written here.
 */
import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ensureDevKeyStore, KeyRing, readKeyStore } from '@gatehouse/keys';
import type { AuditLog, Logger, Metrics } from '@gatehouse/observability';
import { Counter, Gauge } from 'prom-client';

export type ReloadTrigger = 'start' | 'watch' | 'signal' | 'manual';

export interface LiveKeyRingOptions {
  path: string;
  production: boolean;
  audit: AuditLog;
  logger: Logger;
  metrics: Metrics;
}

export class LiveKeyRing extends EventEmitter<{ change: [KeyRing] }> {
  #ring: KeyRing;
  #publicJwks: { keys: object[] };
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reloading: Promise<boolean> | undefined;
  readonly #options: LiveKeyRingOptions;
  readonly #reloads: Counter<'outcome' | 'trigger'>;
  readonly #keys: Gauge<'state'>;
  readonly #onSignal = () => void this.reload('signal');

  private constructor(ring: KeyRing, options: LiveKeyRingOptions) {
    super();
    this.#options = options;
    this.#ring = ring;
    this.#publicJwks = ring.publicJwks();
    const registers = [options.metrics.registry];
    this.#reloads = new Counter({
      name: 'gatehouse_key_reloads_total',
      help: 'Signing-key store reloads by outcome (changed, unchanged, refused) and trigger',
      labelNames: ['outcome', 'trigger'],
      registers,
    });
    this.#keys = new Gauge({
      name: 'gatehouse_signing_keys',
      help: 'Published signing keys by state',
      labelNames: ['state'],
      registers,
    });
    this.#observe(ring);
  }

  /** Loads the store (creating a development one outside production); a bad store stops start-up. */
  static async open(options: LiveKeyRingOptions): Promise<LiveKeyRing> {
    const store = options.production
      ? await readKeyStore(options.path)
      : await ensureDevKeyStore(options.path);
    const ring = KeyRing.fromStore(store);
    refuseDevKeys(ring, options);
    return new LiveKeyRing(ring, options);
  }

  get current(): KeyRing {
    return this.#ring;
  }

  /** The public JWKS of the current ring, one object per ring (validators cache by identity). */
  get publicJwks(): { keys: object[] } {
    return this.#publicJwks;
  }

  /** Starts watching the store (files) and listening for SIGHUP (signal). */
  watch({ files = true, signal = true }: { files?: boolean; signal?: boolean } = {}): this {
    if (signal) process.on('SIGHUP', this.#onSignal);
    if (!files) return this;
    const file = basename(this.#options.path);
    this.#watcher = watch(dirname(this.#options.path), (_event, name) => {
      if (name !== null && name !== file && name !== '..data') return;
      clearTimeout(this.#debounce);
      // Writers rename a temp file into place; wait for the directory to settle.
      this.#debounce = setTimeout(() => void this.reload('watch'), 100);
    });
    this.#watcher.on('error', (error) =>
      this.#options.logger.error({ err: error }, 'key store watch failed'),
    );
    return this;
  }

  close(): void {
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    process.off('SIGHUP', this.#onSignal);
  }

  /** Re-reads the store; resolves true when the published keys changed. Never throws. */
  reload(trigger: ReloadTrigger = 'manual'): Promise<boolean> {
    // One reload at a time; a trigger during a reload is answered by that reload.
    this.#reloading ??= this.#reload(trigger).finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reload(trigger: ReloadTrigger): Promise<boolean> {
    const { audit, logger, path } = this.#options;
    let next: KeyRing;
    try {
      next = KeyRing.fromStore(await readKeyStore(path));
      refuseDevKeys(next, this.#options);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'KEYSTORE_INVALID';
      this.#reloads.inc({ outcome: 'refused', trigger });
      logger.error(
        { code, err: (error as Error).message },
        'key store reload refused; previous keys stay in service',
      );
      audit.record({ event: 'keys.reload_refused', outcome: 'failure', reason: code, trigger });
      return false;
    }
    const before = this.#ring.describe();
    const after = next.describe();
    if (JSON.stringify(before) === JSON.stringify(after)) {
      this.#reloads.inc({ outcome: 'unchanged', trigger });
      return false;
    }
    this.#ring = next;
    this.#publicJwks = next.publicJwks();
    this.#observe(next);
    this.#reloads.inc({ outcome: 'changed', trigger });
    audit.record({
      event: 'keys.reloaded',
      outcome: 'success',
      trigger,
      active_kid: next.activeKid,
      previous_active_kid: before.find((k) => k.state === 'active')?.kid,
      published: after.map(({ kid, alg, state }) => ({ kid, alg, state })),
      removed: before.filter((b) => !next.has(b.kid)).map((b) => b.kid),
    });
    logger.info({ active: next.activeKid, published: after.length }, 'signing keys reloaded');
    this.emit('change', next);
    return true;
  }

  #observe(ring: KeyRing): void {
    this.#keys.reset();
    for (const key of ring.describe()) this.#keys.inc({ state: key.state });
  }
}

function refuseDevKeys(ring: KeyRing, options: LiveKeyRingOptions): void {
  if (options.production && ring.containsDevKeys) {
    throw Object.assign(
      new Error(`KEYSTORE_PATH: ${options.path} holds development keys; production refuses them`),
      {
        code: 'KEYSTORE_DEV_KEYS',
      },
    );
  }
}
