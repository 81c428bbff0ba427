import t from 'tap';
import { formField, submitLogin } from './support/browser.ts';
import { client, openLoginPage } from './support/oauth.ts';
import { DEMO_PASSWORD, startTokenService } from './support/token-service.ts';

// TRUST_PROXY lets each attempt below come from its own IP, so only the account lockout is at play.
const { issuer, audit } = await startTokenService(t, { LOCKOUT_SECONDS: '2', TRUST_PROXY: '127.0.0.1' });

const loginPage = () => openLoginPage(issuer, { scope: 'openid orders:read', state: client.randomState() });

t.test('the login page is plain, accessible HTML with a CSRF token', async (t) => {
  const page = await loginPage();
  t.equal(page.status, 200);
  t.match(page.html, /<html lang="en">/);
  t.match(page.html, /<label for="username">/);
  t.match(page.html, /autocomplete="current-password"/);
  t.notMatch(page.html, /<script/);
  t.ok(formField(page.html, 'csrf'), 'CSRF token in the form');
});

t.test('a wrong password and an unknown user get the same generic answer', async (t) => {
  const wrong = await loginPage();
  const a = await submitLogin(wrong.browser, wrong.url, wrong.html, 'alice', 'definitely-wrong-password');
  const unknown = await loginPage();
  const b = await submitLogin(
    unknown.browser,
    unknown.url,
    unknown.html,
    'nobody-here',
    'definitely-wrong-password',
  );
  t.equal(a.status, 401);
  t.equal(b.status, 401);
  const textA = (await a.text()).replace(/value="[^"]*"/g, '').replace(/\/interaction\/[^/"]+/g, '');
  const textB = (await b.text()).replace(/value="[^"]*"/g, '').replace(/\/interaction\/[^/"]+/g, '');
  t.equal(textA, textB, 'no user enumeration through the page');
  t.match(textA, /Invalid username or password/);
  const failure = audit.find((r) => r.event === 'login.failure');
  t.match(failure, { reason: 'bad_credentials' });
  t.notOk(
    JSON.stringify(audit).includes('definitely-wrong-password'),
    'passwords never reach the audit stream',
  );
  t.notOk(JSON.stringify(audit).includes('"alice"'), 'usernames are hashed in the audit stream');
});

t.test('a form without a valid CSRF token is refused and changes nothing', async (t) => {
  const page = await loginPage();
  const forged = await page.browser.request(
    new URL(`/interaction/${page.url.split('/').pop()}/login`, issuer).href,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: 'forged', username: 'alice', password: DEMO_PASSWORD }).toString(),
    },
  );
  t.equal(forged.status, 403);
  t.notOk(forged.headers.get('location'), 'no redirect: not logged in');
  const crossSite = await submitLogin(page.browser, page.url, page.html, 'alice', DEMO_PASSWORD, {
    origin: 'https://evil.example',
  });
  t.equal(crossSite.status, 403, 'a cross-site Origin is refused');
  t.ok(audit.some((r) => r.event === 'login.csrf_refused'));
  const genuine = await submitLogin(page.browser, page.url, page.html, 'alice', DEMO_PASSWORD);
  t.equal(genuine.status, 303, 'the genuine form still works afterwards');
});

t.test('an expired or unknown interaction gets a friendly page', async (t) => {
  const response = await fetch(`${issuer}/interaction/unknown-uid`);
  t.equal(response.status, 400);
  t.match(await response.text(), /expired/);
});

t.test('five failures lock the account for the window, even with the right password', async (t) => {
  for (let i = 0; i < 5; i += 1) {
    const page = await loginPage();
    const r = await submitLogin(page.browser, page.url, page.html, 'bob', `wrong-password-${i}`, {
      'x-forwarded-for': `10.0.0.${i}`,
    });
    t.equal(r.status, 401, `failure ${i + 1}`);
  }
  const page = await loginPage();
  const locked = await submitLogin(page.browser, page.url, page.html, 'bob', DEMO_PASSWORD, {
    'x-forwarded-for': '10.0.1.1',
  });
  t.equal(locked.status, 429, 'locked out despite the right password');
  t.match(await locked.text(), /Too many failed attempts/);
  t.ok(
    audit.some((r) => r.event === 'login.lockout' && r.reason === 'account_locked_out'),
    'lockout audited',
  );
  t.ok(
    audit.some((r) => r.event === 'login.locked'),
    'refused attempt audited',
  );
  const metrics = await (await fetch(`${issuer}/metrics`)).text();
  t.match(metrics, /gatehouse_login_lockouts_total\{scope="account",component="token-service"\} [1-9]/);

  await new Promise((resolve) => setTimeout(resolve, 2100));
  const after = await loginPage();
  const ok = await submitLogin(after.browser, after.url, after.html, 'bob', DEMO_PASSWORD, {
    'x-forwarded-for': '10.0.1.2',
  });
  t.equal(ok.status, 303, 'the lockout expires with its window');
});
