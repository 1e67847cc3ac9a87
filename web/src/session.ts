// The token lives in sessionStorage: it survives reloads but not the tab, and each tab can be
// signed in as someone else (an operator opening the portal as a tenant user in a new tab).
const TOKEN_KEY = 'silopool.token';

export function readToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Takes `#token=…` from the URL and removes it from history, so the token does not stay in the address bar. */
export function takeTokenFromFragment(): string | undefined {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (!token) return undefined;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return token;
}
