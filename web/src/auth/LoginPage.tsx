import { type FormEvent, useEffect, useId, useState } from 'react';
import { type AuthConfig, SilopoolClient } from '../../../src/client/index.ts';
import { navigate, useLocation, useTitle } from '../router.tsx';
import { storeToken, takeTokenFromFragment } from '../session.ts';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading } from '../ui/States.tsx';
import { startOidcLogin } from './oidc.ts';

/** Only same-origin paths, so a crafted `?next=` cannot send the user elsewhere after sign-in. */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function LoginPage() {
  useTitle('Sign in');
  const { query } = useLocation();
  const next = safeNext(query.get('next'));
  const [config, setConfig] = useState<AuthConfig>();
  const [error, setError] = useState<unknown>();
  const [token, setToken] = useState('');
  const [checking, setChecking] = useState(false);
  const tokenId = useId();

  useEffect(() => {
    // The server's first-start link carries the operator token in the fragment, which never reaches the server.
    const fromFragment = takeTokenFromFragment();
    if (fromFragment) {
      storeToken(fromFragment);
      navigate(next, { replace: true });
      return;
    }
    new SilopoolClient().authConfig().then(setConfig, setError);
  }, [next]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setChecking(true);
    setError(undefined);
    try {
      // Check the token before keeping it, so a typo is reported here and not on the next page.
      await new SilopoolClient({ token: token.trim() }).me();
      storeToken(token);
      navigate(next, { replace: true });
    } catch (e) {
      setError(e);
    } finally {
      setChecking(false);
    }
  };

  return (
    <main id="main" className="narrow login">
      <h1>Sign in to Silopool</h1>
      <ProblemBanner error={error} />
      {!config && !error ? <Loading /> : null}
      {config?.mode === 'oidc' && config.oidc ? (
        <section aria-labelledby="sso-heading">
          <h2 id="sso-heading">Single sign-on</h2>
          <button
            type="button"
            onClick={() => config.oidc && startOidcLogin(config.oidc, next).catch(setError)}
          >
            Sign in with {new URL(config.oidc.issuer).host}
          </button>
        </section>
      ) : null}
      {config ? (
        <section aria-labelledby="token-heading">
          <h2 id="token-heading">{config.mode === 'oidc' ? 'Or use an API key' : 'Access token'}</h2>
          <form onSubmit={submit}>
            <label htmlFor={tokenId}>Token or API key</label>
            <p className="help" id={`${tokenId}-help`}>
              Paste the token from the link the server printed when it started, a token your operator gave
              you, or a tenant API key.
            </p>
            <textarea
              id={tokenId}
              aria-describedby={`${tokenId}-help`}
              value={token}
              onChange={(e) => setToken(e.target.value)}
              rows={4}
              required
              autoComplete="off"
              spellCheck={false}
            />
            <button type="submit" disabled={checking || !token.trim()}>
              {checking ? 'Checking…' : 'Sign in'}
            </button>
          </form>
        </section>
      ) : null}
    </main>
  );
}
