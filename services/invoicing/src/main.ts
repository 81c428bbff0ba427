#!/usr/bin/env node
/** Starts the invoicing service on its own: `npm start -w @gatehouse/invoicing`. */
import { type RunningService, runConsumerService, runUntilSignal } from '@gatehouse/consumer';
import type { EventBus } from '@gatehouse/event-bus';
import { buildInvoicingService } from './app.ts';
import { loadInvoicingConfig } from './config.ts';

/** `bus`: share one (the all-in-one stack's in-process bus); otherwise from KAFKA_* settings. */
export function startInvoicingService(env: NodeJS.ProcessEnv = process.env, bus?: EventBus): Promise<RunningService> {
  return runConsumerService({ load: loadInvoicingConfig, build: buildInvoicingService, env, ...(bus ? { bus } : {}) });
}

if (import.meta.main) runUntilSignal(() => startInvoicingService(), 'invoicing');
