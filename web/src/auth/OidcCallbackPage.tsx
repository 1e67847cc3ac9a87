import { useEffect, useState } from 'react';
import { navigate, useTitle } from '../router.tsx';
import { storeToken } from '../session.ts';
import { ProblemBanner } from '../ui/Problem.tsx';
import { Loading } from '../ui/States.tsx';
import { completeOidcLogin } from './oidc.ts';

// The code can be redeemed once; StrictMode runs effects twice, so both runs share one exchange.
let exchange: ReturnType<typeof completeOidcLogin> | undefined;

export function OidcCallbackPage() {
  useTitle('Signing in');
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    exchange ??= completeOidcLogin(window.location.search);
    exchange.then(({ token, next }) => {
      storeToken(token);
      navigate(next, { replace: true });
    }, setError);
  }, []);
  return (
    <main id="main" className="narrow">
      <h1>Signing in</h1>
      {error ? (
        <>
          <ProblemBanner error={error} />
          <a href="/login">Back to sign-in</a>
        </>
      ) : (
        <Loading label="Finishing sign-in…" />
      )}
    </main>
  );
}
