/**
 * The consumer's counters, on the component's own registry (createMetrics). Every series carries
 * `consumer` so that two consumers in one process (the all-in-one stack) stay apart, and every label
 * value is bounded: reasons are refusal codes, bases are 'fresh' | 'replay'.
 */
import type { Metrics } from '@gatehouse/observability';
import { Counter } from 'prom-client';

export interface ConsumerMetrics {
  processed(basis: string): void;
  refused(reason: string): void;
  deadLettered(): void;
  deduplicated(): void;
  replayed(): void;
  retried(): void;
}

function counter(metrics: Metrics, name: string, help: string, labelNames: string[]): Counter<string> {
  // Two consumers in one process share a registry only in tests; reuse a series already registered.
  const existing = metrics.registry.getSingleMetric(name);
  if (existing) return existing as Counter<string>;
  return new Counter({ name, help, labelNames, registers: [metrics.registry] });
}

export function consumerMetrics(metrics: Metrics, consumer: string): ConsumerMetrics {
  const processed = counter(metrics, 'gatehouse_events_processed_total', 'Events applied, by basis', [
    'consumer',
    'basis',
  ]);
  const refused = counter(metrics, 'gatehouse_events_refused_total', 'Records refused, by reason', [
    'consumer',
    'reason',
  ]);
  const deadLettered = counter(
    metrics,
    'gatehouse_events_dead_lettered_total',
    'Records written to the dead-letter topic',
    ['consumer'],
  );
  const deduplicated = counter(
    metrics,
    'gatehouse_events_deduplicated_total',
    'Events skipped because their id was already processed',
    ['consumer'],
  );
  const replayed = counter(
    metrics,
    'gatehouse_events_replayed_total',
    'Events accepted under the replay policy (expired message token, valid replay grant)',
    ['consumer'],
  );
  const retried = counter(
    metrics,
    'gatehouse_events_retries_total',
    'Records whose handling failed transiently and will be retried (validator or database down)',
    ['consumer'],
  );
  return {
    processed: (basis) => processed.inc({ consumer, basis }),
    refused: (reason) => refused.inc({ consumer, reason }),
    deadLettered: () => deadLettered.inc({ consumer }),
    deduplicated: () => deduplicated.inc({ consumer }),
    replayed: () => replayed.inc({ consumer }),
    retried: () => retried.inc({ consumer }),
  };
}
