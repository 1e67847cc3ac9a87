import { afterAll } from 'vitest';
import { operation } from '../placement/helpers.ts';
import { newTenantId, type TestServer } from '../support/server.ts';
import { type CheckOptions, type CheckReport, checkChaos } from './checker.ts';
import { type Behaviour, type Receiver, startReceiver } from './receivers.ts';
import {
  type CrashableServer,
  chaosTenant,
  type Ledger,
  replayKeyedSubmits,
  startCrashableServer,
  submitLoad,
} from './support.ts';

type Placement = 'shared' | 'dedicated';

/**
 * The frame every fault scenario shares: a crashable server, the tenants of its ledger (each with a
 * webhook receiver of its own, healthy unless its spec says how it behaves, or none when told), and one teardown after the file —
 * receivers first, since a stop waits out deliveries in flight and a closed receiver ends them at once;
 * then the server; then `afterStop` (unmount a tmpfs, remove a data folder).
 */
export function chaosHarness(options: { afterStop?: () => void } = {}) {
  let target: CrashableServer | undefined;
  const receivers: Receiver[] = [];
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await target?.stop();
    options.afterStop?.();
  });
  return {
    receivers,
    async start(serverOptions: Parameters<typeof startCrashableServer>[0] = {}): Promise<CrashableServer> {
      target = await startCrashableServer(serverOptions);
      return target;
    },
    /** Creates one tenant per spec on the running server and adds it to the ledger, in order. */
    async addTenants(
      ledger: Ledger,
      specs: readonly { prefix: string; placement?: Placement; behaviour?: Behaviour }[],
      tenantOptions: { receivers?: boolean } = {},
    ): Promise<void> {
      if (!target) throw new Error('start the server before adding tenants');
      for (const { prefix, placement, behaviour } of specs) {
        const receiver =
          tenantOptions.receivers === false ? undefined : await startReceiver(behaviour ?? 'ok');
        if (receiver) receivers.push(receiver);
        ledger.tenants.push(
          await chaosTenant(target.current(), newTenantId(prefix), {
            ...(placement ? { placement } : {}),
            ...(receiver ? { receiver } : {}),
          }),
        );
      }
    },
  };
}

/** Two shared tenants and a dedicated one, named `{prefix}-sha…` / `{prefix}-ded…`. */
export const mixedPlacements = (prefix: string) =>
  (['shared', 'shared', 'dedicated'] as const).map((placement) => ({
    prefix: `${prefix}-${placement.slice(0, 3)}`,
    placement,
  }));

/**
 * Clients submitting (`submitLoad`) from now until `stop()`, which resolves with what they tried once
 * the last submit in flight has ended.
 */
export function loadUntilStopped(
  target: CrashableServer,
  ledger: Ledger,
  options: { concurrency: number; max: number; pauseMs?: number },
): { stop(): Promise<{ tried: number; retries: number }> } {
  let running = true;
  const load = submitLoad(target, ledger, ledger.tenants, { ...options, until: () => !running });
  return {
    stop() {
      running = false;
      return load;
    },
  };
}

/**
 * After the faults: replays every keyed submit (each must answer with its first job), then runs the
 * checker with the usual bound (every job terminal within 60 s of `faultsEndedAt`). `allowedFailures`
 * names the failure codes a fault may leave visibly (a job whose every delivery a kill cut is
 * dead-lettered and settled).
 */
export async function replayAndCheck(
  server: TestServer,
  ledger: Ledger,
  faultsEndedAt: number,
  allowedFailures: string[] = [],
  more: Pick<CheckOptions, 'rerunAfterFailure'> = {},
): Promise<CheckReport> {
  await replayKeyedSubmits(server, ledger);
  return checkChaos(server, ledger, {
    faultsEndedAt,
    terminalWithinMs: 60_000,
    ...(allowedFailures.length > 0 ? { allowedFailures } : {}),
    ...more,
  });
}

/** Failures a SIGKILL or a full disk may leave: the job dead-lettered, or failed by its last attempt. */
export const FAULT_FAILURES = ['dead_lettered', 'retries_exhausted'];

/** The step an operation is in now (the first not done; `done` when all are): where a kill lands. */
export async function stepAt(server: TestServer, operationId: string): Promise<string> {
  const { steps } = await operation(server, operationId);
  return steps.find((s) => s.status !== 'done')?.name ?? 'done';
}
