import { collectDefaultMetrics, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  /** Prometheus text exposition of this component's registry. */
  render(): Promise<string>;
}

/**
 * One registry per component, not prom-client's global one: the all-in-one dev process runs
 * several components side by side and each serves only its own metrics.
 */
export function createMetrics(component: string, options: { defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  if (options.defaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  return { registry, render: () => registry.metrics() };
}
