#!/usr/bin/env node
/** Starts the shipping service on its own: `npm start -w @gatehouse/shipping`. */
import { type RunningService, runConsumerService, runUntilSignal } from '@gatehouse/consumer';
import type { EventBus } from '@gatehouse/event-bus';
import { buildShippingService } from './app.ts';
import { loadShippingConfig } from './config.ts';

/** `bus`: share one (the all-in-one stack's in-process bus); otherwise from KAFKA_* settings. */
export function startShippingService(env: NodeJS.ProcessEnv = process.env, bus?: EventBus): Promise<RunningService> {
  return runConsumerService({ load: loadShippingConfig, build: buildShippingService, env, ...(bus ? { bus } : {}) });
}

if (import.meta.main) runUntilSignal(() => startShippingService(), 'shipping');
