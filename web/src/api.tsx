import { createContext, type DependencyList, useCallback, useContext, useEffect, useState } from 'react';
import type { Me } from '../../src/client/index.ts';
import { SilopoolClient } from '../../src/client/index.ts';
import { readToken } from './session.ts';

export interface Session {
  /** Unscoped client: auth, /v1/me and the operator API. */
  client: SilopoolClient;
  me: Me;
  signOut(): void;
}

const SessionContext = createContext<Session | undefined>(undefined);
export const SessionProvider = SessionContext.Provider;

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The client scoped to a tenant of the signed-in user. */
export function useTenantClient(tenantId: string): SilopoolClient {
  return useSession().client.forTenant(tenantId);
}

/** Same origin as the page: the server serves this app next to the API. */
export function makeClient(): SilopoolClient {
  return new SilopoolClient({ token: readToken });
}

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** Runs `load` when `deps` change; stale answers from an earlier run are dropped. */
export function useAsync<T>(load: () => Promise<T>, deps: DependencyList): AsyncState<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: callers pass the deps of `load`.
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while the page is visible; polling a hidden tab only costs the server. */
export function useInterval(fn: () => void, ms: number | undefined): void {
  useEffect(() => {
    if (ms === undefined) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') fn();
    }, ms);
    return () => clearInterval(timer);
  }, [fn, ms]);
}
