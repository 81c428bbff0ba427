/** The browser UI served by the gateway: files, headers, and what it must never shadow or expose. */
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildGateway } from '../src/app.ts';
import { DEFAULT_UI_DIR, loadGatewayConfig } from '../src/config.ts';
import { parseRoutes } from '../src/routes.ts';
import { UiDirectoryError, uiContentSecurityPolicy } from '../src/ui.ts';
import { callGateway, route, startGateway } from './support/gateway.ts';
import { startUpstream } from './support/upstream.ts';

// No token service is needed to serve files; the JWKS fetch in the background just fails.
const ISSUER = 'http://127.0.0.1:9';

async function gatewayWithUi(t: Test, env: Record<string, string> = {}) {
  const upstream = await startUpstream(t);
  const gw = await startGateway(t, { issuer: ISSUER, routes: [route(upstream.url, { auth: ['bearer', 'session'] })], env });
  return { ...gw, upstream };
}

/** A raw GET: the path goes on the wire exactly as written (fetch would normalise "..", "%2e"). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function directives(csp: string | null): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of (csp ?? '').split(';')) {
    const [name = '', ...values] = part.trim().split(/\s+/);
    if (name) map.set(name, values.join(' '));
  }
  return map;
}

t.test('index.html at / with the UI content security policy', async (t) => {
  const { url } = await gatewayWithUi(t);
  const res = await callGateway(url, '/');
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/html/);
  t.equal(res.headers.get('cache-control'), 'no-cache', 'revalidated on every load');
  t.ok(res.headers.get('etag'), 'an ETag to revalidate with');
  t.match(res.text, /<script type="module" src="\/app\.js"><\/script>/);

  const csp = directives(res.headers.get('content-security-policy'));
  t.equal(csp.get('default-src'), "'self'");
  t.equal(csp.get('script-src'), "'self'", 'no inline script, no eval, no other origin');
  t.equal(csp.get('style-src'), "'self'");
  t.equal(csp.get('connect-src'), "'self'");
  t.equal(csp.get('object-src'), "'none'");
  t.equal(csp.get('frame-ancestors'), "'none'");
  t.equal(csp.get('require-trusted-types-for'), "'script'", 'innerHTML and friends throw');
  t.notOk(csp.has('upgrade-insecure-requests'), 'not over plain-http development');
  t.notMatch(res.headers.get('content-security-policy'), /unsafe-|data:|https:/);
  t.equal(res.headers.get('x-frame-options'), 'DENY');
  t.equal(res.headers.get('referrer-policy'), 'same-origin', "so the page's own POSTs carry their Origin");
  t.equal(res.headers.get('x-content-type-options'), 'nosniff');
  t.equal(res.headers.get('strict-transport-security'), null, 'no HSTS outside production');

  const head = await fetch(`${url}/`, { method: 'HEAD' });
  t.equal(head.status, 200, 'HEAD too');
});

t.test('the page itself complies with its CSP: no inline script, style or handler', async (t) => {
  const html = await readFile(join(DEFAULT_UI_DIR, 'index.html'), 'utf8');
  t.notMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'every script has a src');
  t.notMatch(html, /<style[\s>]/);
  t.notMatch(html, /\sstyle=/);
  t.notMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
  t.notMatch(html, /(?:src|href)="(?:https?:)?\/\//, 'nothing from another origin (works offline)');
});

t.test('every UI module and stylesheet is served with its type', async (t) => {
  const { url } = await gatewayWithUi(t);
  const files = (await readdir(DEFAULT_UI_DIR)).filter((f) => f.endsWith('.js') || f.endsWith('.css'));
  t.ok(files.includes('app.js') && files.includes('styles.css'));
  for (const file of files) {
    const res = await callGateway(url, `/${file}`);
    t.equal(res.status, 200, file);
    t.match(res.headers.get('content-type'), file.endsWith('.js') ? /javascript/ : /^text\/css/, `${file} type`);
    t.equal(res.headers.get('cache-control'), 'no-cache', `${file} cache-control`);
    t.ok(res.headers.get('content-security-policy'), `${file} CSP`);
  }
  // Every relative import of the modules resolves, so the page never loads half an app.
  for (const file of files.filter((f) => f.endsWith('.js'))) {
    const source = await readFile(join(DEFAULT_UI_DIR, file), 'utf8');
    for (const [, target] of source.matchAll(/from '\.\/([\w-]+\.js)'/g)) {
      t.ok(files.includes(target!), `${file} imports ${target}, which is served`);
    }
  }
});

t.test('a cached file is revalidated with its ETag: 304', async (t) => {
  const { url } = await gatewayWithUi(t);
  const first = await fetch(`${url}/app.js`);
  await first.arrayBuffer();
  // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request.
  const again = await rawGet(url, '/app.js', { 'if-none-match': first.headers.get('etag')! });
  t.equal(again.status, 304);
  t.equal(again.body, '');
});

t.test('the UI shadows nothing: /api, /auth and the ops endpoints keep their own answers', async (t) => {
  const { url, upstream } = await gatewayWithUi(t);
  const api = await callGateway(url, '/api/orders');
  t.equal(api.status, 401, 'the proxied route still authenticates');
  t.equal(api.body.code, 'ERR_TOKEN_MISSING');
  t.equal(upstream.received.length, 0);
  t.not(api.headers.get('cache-control'), 'no-cache', 'UI headers stay on UI routes');
  t.notMatch(api.headers.get('content-security-policy') ?? '', /trusted-types/);

  const session = await callGateway(url, '/auth/session');
  t.equal(session.status, 401);
  t.equal(session.body.code, 'ERR_SESSION_MISSING');

  const health = await callGateway(url, '/healthz');
  t.equal(health.status, 200);
  t.match(health.headers.get('content-type'), /json/);

  const unknown = await callGateway(url, '/nothing-here.js');
  t.equal(unknown.status, 404);
  t.equal(unknown.headers.get('content-type'), 'application/problem+json');
  t.equal(unknown.body.code, 'ERR_NOT_FOUND');
});

t.test('path traversal finds no file outside the UI directory', async (t) => {
  const { url } = await gatewayWithUi(t);
  for (const path of [
    '/../package.json',
    '/..%2fpackage.json',
    '/%2e%2e/%2e%2e/package.json',
    '/app.js/../../package.json',
    '/%2e%2e%2f%2e%2e%2fgateway%2fpackage.json',
    '//etc/passwd',
    '/..\\..\\package.json',
  ]) {
    const res = await rawGet(url, path);
    t.ok(res.status === 404 || res.status === 400, `${path} refused (${res.status})`);
    t.equal(res.type, 'application/problem+json', `${path} answered as a problem`);
    t.notMatch(res.body, /"workspaces"|"@gatehouse\/gateway"|root:/, `${path} leaks no file`);
  }
});

t.test('files under reserved names, and dotfiles, are never served', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-ui-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  await mkdir(join(dir, 'api'));
  await writeFile(join(dir, 'api', 'secret.json'), '{"secret":"ui-file"}');
  await mkdir(join(dir, 'auth'));
  await writeFile(join(dir, 'auth', 'session'), 'ui-file');
  await writeFile(join(dir, 'healthz'), 'ui-file');
  await writeFile(join(dir, '.env'), 'SECRET=ui-file');
  const { url } = await gatewayWithUi(t, { UI_DIR: dir });

  t.equal((await callGateway(url, '/')).status, 200);
  for (const path of ['/api/secret.json', '/auth/session', '/healthz', '/.env']) {
    const res = await callGateway(url, path);
    t.notMatch(res.text, /ui-file/, `${path} is not the UI's file (${res.status})`);
  }
  t.equal((await callGateway(url, '/api/secret.json')).status, 404);
  t.equal((await callGateway(url, '/.env')).status, 404);
});

t.test("UI_DIR: the repository's UI by default, 'off' for none", async (t) => {
  const base = { NODE_ENV: 'test' };
  t.equal(loadGatewayConfig(base).UI_DIR, DEFAULT_UI_DIR);
  t.match(DEFAULT_UI_DIR, /services[\\/]ui[\\/]public$/);
  t.equal(loadGatewayConfig({ ...base, UI_DIR: '' }).UI_DIR, DEFAULT_UI_DIR, 'empty is unset, as for every setting');
  t.equal(loadGatewayConfig({ ...base, UI_DIR: 'off' }).UI_DIR, undefined);

  const { url } = await gatewayWithUi(t, { UI_DIR: 'off' });
  const res = await callGateway(url, '/');
  t.equal(res.status, 404, 'no UI: / is not found');
  t.equal(res.body.code, 'ERR_NOT_FOUND');
});

t.test('a UI directory without index.html stops the start with ERR_UI_DIR', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-ui-empty-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const root of [dir, join(dir, 'missing')]) {
    const config = loadGatewayConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', TOKEN_SERVICE_URL: ISSUER, AUDIT_LOG: join(dir, 'audit.jsonl'), UI_DIR: root });
    const error = await buildGateway(config, { routes: parseRoutes({ routes: [route(ISSUER)] }) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(error, UiDirectoryError, root);
    t.match(error, { code: 'ERR_UI_DIR', setting: 'UI_DIR' });
  }
});

t.test('production adds upgrade-insecure-requests to the UI policy', async (t) => {
  t.same(uiContentSecurityPolicy(true)['upgrade-insecure-requests'], []);
  t.notOk('upgrade-insecure-requests' in uiContentSecurityPolicy(false));
});
