/**
 * The post-login return path: a same-origin relative path only. Anything that a browser could
 * resolve to another origin ("//evil", "/\\evil", "https://evil", "javascript:") is refused, which
 * closes the open redirect a login endpoint otherwise is.
 */
const BASE = 'http://bff.invalid';

export function safeReturnPath(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return '/';
  if (value.length > 2048 || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  // Control characters and backslashes: browsers strip or normalise them into "//".
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return undefined;
  }
  try {
    const url = new URL(value, BASE);
    if (url.origin !== BASE) return undefined;
    return `${url.pathname}${url.search}${url.hash}`;
  } catch {
    return undefined;
  }
}
