/**
 * Server-rendered pages: plain HTML forms that work without JavaScript, labelled for screen
 * readers, errors announced with role="alert". Every interpolated value is escaped.
 */

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h1{font-size:1.5rem}label{display:block;margin-top:1rem;font-weight:600}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box;border:1px solid #555;border-radius:4px}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem;border-radius:4px;border:1px solid #1a4d8f;background:#1a4d8f;color:#fff}
button.secondary{background:#fff;color:#1a4d8f}
.error{border:1px solid #a30000;background:#fdecec;color:#a30000;padding:.5rem .75rem;border-radius:4px}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<!-- same-origin, not no-referrer: under no-referrer browsers post the form with Origin: null, which the CSRF origin check refuses; cross-origin requests still get no Referer (no interaction id leaks). -->
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)} · Gatehouse</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

export interface LoginView {
  uid: string;
  csrf: string;
  clientName: string;
  username?: string;
  error?: string;
}

export function loginPage(view: LoginView): string {
  const error = view.error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(view.error)}</p>`
    : '';
  const described = view.error ? ' aria-describedby="login-error"' : '';
  return page(
    'Sign in',
    `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(view.clientName)}</strong></p>
${error}
<form method="post" action="/interaction/${escapeHtml(view.uid)}/login" autocomplete="on">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="${escapeHtml(view.username ?? '')}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described}>
<button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${escapeHtml(view.uid)}/abort">Cancel</a></p>`,
  );
}

export interface ConsentView {
  uid: string;
  csrf: string;
  clientName: string;
  scopes: string[];
}

export function consentPage(view: ConsentView): string {
  const items = view.scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return page(
    'Allow access',
    `<h1>Allow access</h1>
<p><strong>${escapeHtml(view.clientName)}</strong> asks for:</p>
<ul>${items}</ul>
<form method="post" action="/interaction/${escapeHtml(view.uid)}/confirm">
<input type="hidden" name="csrf" value="${escapeHtml(view.csrf)}">
<button type="submit">Allow</button>
</form>
<p><a href="/interaction/${escapeHtml(view.uid)}/abort">Deny</a></p>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p role="alert">${escapeHtml(message)}</p>`);
}

export function errorPage(error: unknown, description: unknown): string {
  return page(
    'Something went wrong',
    `<h1>Something went wrong</h1>
<p role="alert"><code>${escapeHtml(error)}</code>${description ? `: ${escapeHtml(description)}` : ''}</p>`,
  );
}

/** oidc-provider hands a ready form (its own CSRF token included); we wrap it without scripts. */
export function logoutPage(form: string): string {
  return page(
    'Sign out',
    `<h1>Sign out</h1>
<p>Do you want to sign out of Gatehouse?</p>
${form}
<button form="op.logoutForm" type="submit" name="logout" value="yes">Sign out</button>
<button form="op.logoutForm" type="submit" class="secondary">Stay signed in</button>`,
  );
}

export function postLogoutPage(): string {
  return page('Signed out', '<h1>Signed out</h1>\n<p>You have signed out.</p>');
}
