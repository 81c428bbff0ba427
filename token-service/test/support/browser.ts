/**
 * A minimal browser for tests: follows redirects by hand, keeps cookies per origin, and can fill
 * in the login form. It talks HTTP to the real token service; nothing is mocked.
 */

export class Browser {
  readonly #cookies = new Map<string, Map<string, string>>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const target = new URL(url);
    const jar = this.#jar(target.host);
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return response;
  }

  /** Follows redirects until one leaves for `stopAt` (returned, not fetched) or a page is returned. */
  async follow(
    url: string,
    stopAt: string,
    init: RequestInit = {},
  ): Promise<{ url: string; response?: Response }> {
    let current = url;
    let options = init;
    for (let hops = 0; hops < 20; hops += 1) {
      if (current.startsWith(stopAt)) return { url: current };
      const response = await this.request(current, options);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { url: current, response };
      await response.body?.cancel();
      current = new URL(location, current).href;
      options = {};
    }
    throw new Error('too many redirects');
  }

  #jar(host: string): Map<string, string> {
    let jar = this.#cookies.get(host);
    if (!jar) {
      jar = new Map();
      this.#cookies.set(host, jar);
    }
    return jar;
  }
}

export function formField(html: string, name: string): string | undefined {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return match?.[1];
}

export function formAction(html: string): string | undefined {
  return /<form method="post" action="([^"]+)"/.exec(html)?.[1];
}

/** Drives the login page: returns the response of the form post. */
export async function submitLogin(
  browser: Browser,
  pageUrl: string,
  html: string,
  username: string,
  password: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  const action = new URL(formAction(html)!, pageUrl).href;
  const csrf = formField(html, 'csrf') ?? '';
  return browser.request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...extra },
    body: new URLSearchParams({ csrf, username, password }).toString(),
  });
}
