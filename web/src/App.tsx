import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import type { Me } from '../../src/client/index.ts';
import { makeClient, type Session, SessionProvider } from './api.tsx';
import { LoginPage } from './auth/LoginPage.tsx';
import { OidcCallbackPage } from './auth/OidcCallbackPage.tsx';
import { match, navigate, Redirect, useLocation } from './router.tsx';
import { clearToken, readToken } from './session.ts';
import { Layout } from './ui/Layout.tsx';
import { ProblemBanner } from './ui/Problem.tsx';
import { Loading } from './ui/States.tsx';

// Portal and console load on demand: a tenant user never downloads the operator console.
const Portal = lazy(() => import('./portal/PortalRoutes.tsx'));
const Console = lazy(() => import('./console/ConsoleRoutes.tsx'));
const TenantPicker = lazy(() => import('./portal/TenantPicker.tsx'));

export function App() {
  const { path } = useLocation();
  if (path === '/login') return <LoginPage />;
  if (path === '/login/callback') return <OidcCallbackPage />;
  return <SignedIn path={path} />;
}

function SignedIn({ path }: { path: string }) {
  const client = useMemo(makeClient, []);
  const [me, setMe] = useState<Me>();
  const [error, setError] = useState<unknown>();
  const token = readToken();

  useEffect(() => {
    if (!token) return;
    client.me().then(setMe, setError);
  }, [client, token]);

  const signOut = useCallback(() => {
    clearToken();
    navigate('/login');
  }, []);

  if (!token) return <Redirect to={`/login?next=${encodeURIComponent(path)}`} />;
  if (error) {
    return (
      <main id="main" className="narrow">
        <h1>Silopool</h1>
        <ProblemBanner error={error} />
      </main>
    );
  }
  if (!me) return <Loading label="Signing in…" />;

  const session: Session = { client, me, signOut };
  const tenantParams = match('/t/:tenant', path.split('/').slice(0, 3).join('/'));
  const tenantId = tenantParams?.tenant;
  return (
    <SessionProvider value={session}>
      <Layout tenantId={tenantId}>
        <Suspense fallback={<Loading />}>{route(path, me, tenantId)}</Suspense>
      </Layout>
    </SessionProvider>
  );
}

function route(path: string, me: Me, tenantId: string | undefined) {
  if (tenantId) return <Portal tenantId={tenantId} path={path} />;
  if (path === '/console' || path.startsWith('/console/')) return <Console path={path} />;
  if (path === '/tenants') return <TenantPicker />;
  // Home: operators land on the console, a user with one tenant on its models, others pick.
  if (me.roles.includes('operator')) return <Redirect to="/console" />;
  const only = me.tenants.length === 1 ? me.tenants[0] : undefined;
  if (only) return <Redirect to={`/t/${encodeURIComponent(only.id)}/models`} />;
  return <TenantPicker />;
}
