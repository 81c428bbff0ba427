/**
 * The whole Gatehouse stack in one process: token service, gateway, sales, shipping and invoicing,
 * each on its own port, sharing one event bus. `npm start` runs it on embedded defaults (in-process
 * bus, embedded databases, in-memory stores); the end-to-end tests run exactly this assembly on
 * free ports, with Kafka and PostgreSQL when they ask for them.
 *
 * Each component reads only its own settings from the one environment, as it would in its own
 * container; only the wiring between them (issuer URL, upstream ports, the sales key the token
 * service generated) is decided here.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '@gatehouse/config';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { type EventBus, busFromSettings, createEmbeddedBus, kafkaSettings } from '@gatehouse/event-bus';
import { buildGateway, DEV_ROUTES_FILE, type Gateway, loadGatewayConfig, parseRoutes } from '@gatehouse/gateway';
import { buildInvoicingService, type InvoicingService, loadInvoicingConfig } from '@gatehouse/invoicing';
import { createLogger } from '@gatehouse/observability';
import { buildSalesService, loadSalesConfig, type SalesService } from '@gatehouse/sales';
import { buildShippingService, loadShippingConfig, type ShippingService } from '@gatehouse/shipping';
import { buildTokenService, loadTokenServiceConfig, type TokenService } from '@gatehouse/token-service';
import type { DestinationStream } from 'pino';
import { z } from 'zod';

export type Component = 'token-service' | 'gateway' | 'sales' | 'shipping' | 'invoicing';

export interface StackOptions {
  env?: NodeJS.ProcessEnv;
  /** A bus to share; otherwise Kafka when KAFKA_BROKERS is set, else the embedded bus. */
  bus?: EventBus;
  /** Ports; 0 picks a free one. Defaults: 4000, 8080, 4100, 4200, 4300 or the *_PORT settings. */
  ports?: Partial<Record<Component, number>>;
  /** Each component's audit stream (tests keep them in memory); its AUDIT_LOG otherwise. */
  audit?: (component: Component) => DestinationStream | undefined;
  /** Each service's database URL (PostgreSQL); embedded otherwise. */
  databases?: Partial<Record<'sales' | 'shipping' | 'invoicing', string>>;
}

export interface Stack {
  tokenService: TokenService;
  gateway: Gateway;
  sales: SalesService;
  shipping: ShippingService;
  invoicing: InvoicingService;
  bus: EventBus;
  urls: Record<Component, string>;
  close(): Promise<void>;
}

const DEFAULT_PORTS: Record<Component, number> = {
  'token-service': 4000,
  gateway: 8080,
  sales: 4100,
  shipping: 4200,
  invoicing: 4300,
};
const PORT_SETTING: Record<Component, string> = {
  'token-service': 'TOKEN_SERVICE_PORT',
  gateway: 'GATEWAY_PORT',
  sales: 'SALES_PORT',
  shipping: 'SHIPPING_PORT',
  invoicing: 'INVOICING_PORT',
};
/** The dev route table's upstreams, by the component behind each. */
const DEV_UPSTREAMS: Record<string, Component> = {
  'http://127.0.0.1:4100': 'sales',
  'http://127.0.0.1:4200': 'shipping',
  'http://127.0.0.1:4300': 'invoicing',
};

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function portFor(component: Component, options: StackOptions, env: NodeJS.ProcessEnv): Promise<number> {
  const wanted = options.ports?.[component] ?? Number(env[PORT_SETTING[component]] ?? DEFAULT_PORTS[component]);
  return wanted === 0 ? freePort() : wanted;
}

/**
 * The dev route table with its upstreams moved to where the services really listen. A ROUTES_FILE
 * of the operator's own is used as it is.
 */
function devRoutes(urls: Record<Component, string>) {
  const table = JSON.parse(readFileSync(DEV_ROUTES_FILE, 'utf8')) as { routes: Array<Record<string, unknown>> };
  for (const route of table.routes) {
    const component = DEV_UPSTREAMS[String(route.upstream)];
    if (component) route.upstream = urls[component];
  }
  return parseRoutes(table);
}

function chooseBus(options: StackOptions, env: NodeJS.ProcessEnv): { bus: EventBus; owned: boolean } {
  if (options.bus) return { bus: options.bus, owned: false };
  const settings = loadConfig(z.object(kafkaSettings), { env });
  const kafka = busFromSettings(settings, createLogger('stack', String(env.LOG_LEVEL ?? 'info')));
  return { bus: kafka ?? createEmbeddedBus(), owned: true };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  const audit = (component: Component) => {
    const destination = options.audit?.(component);
    return destination ? { auditDestination: destination } : {};
  };
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer().catch(() => undefined);
  };
  try {
    // 1. Token service: its URL is everyone's issuer, so its port is fixed before it starts.
    const tsPort = await portFor('token-service', options, env);
    const tokenServiceConfig = loadTokenServiceConfig({ ...env, TOKEN_SERVICE_PORT: String(tsPort) });
    const tokenService = await buildTokenService(tokenServiceConfig, audit('token-service'));
    closers.push(() => tokenService.close());
    await tokenService.app.listen({ host: tokenServiceConfig.TOKEN_SERVICE_HOST, port: tsPort });
    const issuer = tokenServiceConfig.ISSUER;

    const { bus, owned } = chooseBus(options, env);
    if (owned) closers.push(() => bus.close());

    // 2. Sales: signs event proofs with the key pair the token service binds into message tokens
    // (generated into CLIENT_KEYS_DIR in development).
    const serviceEnv = (component: 'sales' | 'shipping' | 'invoicing', port: number) => ({
      ...env,
      TOKEN_SERVICE_URL: issuer,
      [PORT_SETTING[component]]: String(port),
      ...(options.databases?.[component] ? { DATABASE_URL: options.databases[component] } : {}),
    });
    const salesPort = await portFor('sales', options, env);
    const salesConfig = loadSalesConfig({
      SALES_SIGNING_KEY_FILE: join(resolve(tokenServiceConfig.CLIENT_KEYS_DIR), 'sales.private.jwk.json'),
      ...serviceEnv('sales', salesPort),
    });
    const sales = await buildSalesService(salesConfig, { bus, ...audit('sales') });
    closers.push(() => sales.close());
    await sales.app.listen({ host: salesConfig.SALES_HOST, port: salesPort });

    // 3. The consumers.
    const shippingPort = await portFor('shipping', options, env);
    const shippingConfig = loadShippingConfig(serviceEnv('shipping', shippingPort));
    const shipping = await buildShippingService(shippingConfig, { bus, ...audit('shipping') });
    closers.push(() => shipping.close());
    await shipping.app.listen({ host: shippingConfig.host, port: shippingPort });

    const invoicingPort = await portFor('invoicing', options, env);
    const invoicingConfig = loadInvoicingConfig(serviceEnv('invoicing', invoicingPort));
    const invoicing = await buildInvoicingService(invoicingConfig, { bus, ...audit('invoicing') });
    closers.push(() => invoicing.close());
    await invoicing.app.listen({ host: invoicingConfig.host, port: invoicingPort });

    // 4. The gateway, last: its upstreams are up when it takes traffic.
    const gatewayPort = await portFor('gateway', options, env);
    const urls: Record<Component, string> = {
      'token-service': issuer,
      gateway: `http://localhost:${gatewayPort}`,
      sales: `http://127.0.0.1:${salesPort}`,
      shipping: `http://127.0.0.1:${shippingPort}`,
      invoicing: `http://127.0.0.1:${invoicingPort}`,
    };
    const gatewayConfig = loadGatewayConfig({
      ...env,
      TOKEN_SERVICE_URL: issuer,
      GATEWAY_PORT: String(gatewayPort),
    });
    const gateway = await buildGateway(gatewayConfig, {
      ...audit('gateway'),
      ...(env.ROUTES_FILE ? {} : { routes: devRoutes(urls) }),
    });
    closers.push(() => gateway.close());
    await gateway.app.listen({ host: gatewayConfig.GATEWAY_HOST, port: gatewayPort });

    return { tokenService, gateway, sales, shipping, invoicing, bus, urls, close };
  } catch (error) {
    await close();
    throw error;
  }
}
