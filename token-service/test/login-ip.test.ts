import t from 'tap';
import { submitLogin } from './support/browser.ts';
import { openLoginPage } from './support/oauth.ts';
import { DEMO_PASSWORD, startTokenService } from './support/token-service.ts';

// Behind a proxy the source IP comes from X-Forwarded-For, so one test can be several clients.
const { issuer, audit } = await startTokenService(t, {
  TRUST_PROXY: '127.0.0.1',
  RATE_LIMIT_LOGIN_PER_IP: '8',
});

async function attempt(ip: string, username: string, password: string) {
  const page = await openLoginPage(issuer);
  return submitLogin(page.browser, page.url, page.html, username, password, { 'x-forwarded-for': ip });
}

t.test('five failures from one IP lock that IP out across accounts, not other IPs', async (t) => {
  const users = ['alice', 'bob', 'carol', 'admin', 'alice'];
  for (const [i, user] of users.entries()) {
    t.equal((await attempt('203.0.113.7', user, `wrong-${i}-password`)).status, 401);
  }
  t.equal((await attempt('203.0.113.7', 'carol', DEMO_PASSWORD)).status, 429, 'the IP is locked out');
  t.ok(audit.some((r) => r.event === 'login.lockout' && r.reason === 'ip_locked_out'));
  t.equal((await attempt('198.51.100.9', 'carol', DEMO_PASSWORD)).status, 303, 'another IP signs in');
});

t.test('the login form is rate limited per IP', async (t) => {
  const statuses: number[] = [];
  for (let i = 0; i < 10; i += 1) statuses.push((await attempt('192.0.2.50', 'carol', DEMO_PASSWORD)).status);
  t.ok(
    statuses.slice(0, 8).every((s) => s === 303),
    'within the limit',
  );
  t.equal(statuses[8], 429, 'over the limit');
  const response = await attempt('192.0.2.50', 'carol', DEMO_PASSWORD);
  t.equal(response.status, 429);
  t.ok(Number(response.headers.get('retry-after')) >= 1, 'Retry-After');
  t.equal(response.headers.get('ratelimit-limit'), '8');
});
