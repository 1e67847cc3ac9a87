import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { Receiver } from './receivers.ts';

/**
 * How large the chaos suite runs: `CHAOS_SCALE=10` multiplies kills, jobs and rounds by ten. The default
 * (1) keeps the whole folder under about a minute and a half on two cores, as part of `npm test`.
 */
export const SCALE = Math.max(1, Math.floor(Number(process.env.CHAOS_SCALE ?? 1)) || 1);

/** Loopback receivers are allowed only because the operator says so here; the reconciler looks after 5 s. */
export const CHAOS_ENV: Record<string, string> = {
  SILOPOOL_WEBHOOK_ALLOW_HTTP: '1',
  SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
  SILOPOOL_RECONCILE_GRACE_SEC: '5',
};

/** A small seeded generator (mulberry32), so a failing run's kill points can be replayed with `CHAOS_SEED`. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface ChaosTenant {
  id: string;
  apiKey: string;
  placement: 'shared' | 'dedicated';
  receiver?: Receiver;
}

/** Everything the clients were told: the checker proves each answer true afterwards. */
export interface Ledger {
  tenants: ChaosTenant[];
  /** Every 202 a client got. */
  accepted: { tenantId: string; jobId: string; idempotencyKey?: string }[];
  /** Answers no client should ever get here (a 500, a 400 for a valid request): each one is a finding. */
  unexpected: string[];
}

export function newLedger(): Ledger {
  return { tenants: [], accepted: [], unexpected: [] };
}

/** The real server, SIGKILLed and restarted on the same DATA_DIR; clients wait for the next start. */
export interface CrashableServer {
  readonly dataDir: string;
  /** The server running now (a new one after each restart: new port, new operator token). */
  current(): TestServer;
  /** Resolves with the running server; during a restart, with the next one. */
  ready(): Promise<TestServer>;
  /** SIGKILL, then a start on the same DATA_DIR; resolves with the milliseconds until it answered again. */
  crashAndRestart(): Promise<number>;
  stop(): Promise<void>;
}

export async function startCrashableServer(
  options: { env?: Record<string, string>; dataDir?: string } = {},
): Promise<CrashableServer> {
  const env = { ...CHAOS_ENV, ...options.env };
  let server = await startTestServer({
    env,
    keepData: true,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  const dataDir = server.dataDir;
  let up: Promise<TestServer> = Promise.resolve(server);
  return {
    dataDir,
    current: () => server,
    ready: () => up,
    async crashAndRestart() {
      let resolveUp!: (s: TestServer) => void;
      up = new Promise((resolve) => (resolveUp = resolve));
      await server.kill();
      const killedAt = Date.now();
      server = await startTestServer({ dataDir, env, keepData: true });
      resolveUp(server);
      return Date.now() - killedAt;
    },
    async stop() {
      await server.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates a tenant and, with a receiver, points its webhook there (the receiver learns the secret). */
export async function chaosTenant(
  server: TestServer,
  id: string,
  options: { placement?: 'shared' | 'dedicated'; receiver?: Receiver } = {},
): Promise<ChaosTenant> {
  const placement = options.placement ?? 'shared';
  const { apiKey } = await server.createTenant(id, { plan: 'enterprise', placement });
  if (options.receiver) {
    const res = await server.api('/v1/settings/webhook', {
      method: 'PUT',
      token: apiKey,
      body: JSON.stringify({ url: options.receiver.url }),
    });
    if (res.status !== 200) throw new Error(`webhook of ${id}: ${res.status} ${await res.text()}`);
    options.receiver.secret = ((await res.json()) as { secret: string }).secret;
  }
  return { id, apiKey, placement, ...(options.receiver ? { receiver: options.receiver } : {}) };
}

/** The n-th job of a load: small DCFs and Monte Carlo funds jobs of a few tenths of a second. */
export function jobOf(n: number): { model: string; input: Record<string, unknown> } {
  if (n % 3 === 0) return { model: 'finance', input: { revenue: 1_000_000 + n } };
  return { model: 'funds', input: { simulations: 5_000 + (n % 7) * 5_000, seed: n } };
}

const isConnectionError = (error: unknown) => error instanceof TypeError; // fetch: "fetch failed"

/**
 * Submits jobs from `concurrency` clients until `until()` says stop or `max` were tried. Every other
 * submit carries an Idempotency-Key and is retried with it when its connection dies or the server
 * refuses for now (503, 507), as a careful client does; the others are given up (their outcome unknown,
 * which the checker allows: a job may exist that no client was told about, but it must still end).
 * Statuses other than 202, 429, 503 and 507 are findings.
 */
export async function submitLoad(
  target: Pick<CrashableServer, 'ready'>,
  ledger: Ledger,
  tenants: ChaosTenant[],
  options: { concurrency: number; max: number; until(): boolean; pauseMs?: number },
): Promise<{ tried: number; retries: number }> {
  let next = 0;
  let retries = 0;
  const runId = randomUUID().slice(0, 8);
  const one = async (n: number) => {
    const tenant = tenants[n % tenants.length]!;
    const { model, input } = jobOf(n);
    const idempotencyKey = n % 2 === 0 ? `chaos-${runId}-${n}` : undefined;
    for (let attempt = 0; attempt < 200; attempt++) {
      const server = await target.ready();
      let res: Response;
      try {
        res = await server.api(`/v1/models/${model}/jobs`, {
          method: 'POST',
          token: tenant.apiKey,
          ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
          body: JSON.stringify({ input }),
        });
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        if (!idempotencyKey) return;
        retries++;
        continue;
      }
      if (res.status === 202) {
        const { id } = (await res.json()) as { id: string };
        ledger.accepted.push({
          tenantId: tenant.id,
          jobId: id,
          ...(idempotencyKey ? { idempotencyKey } : {}),
        });
        return;
      }
      const text = await res.text();
      if (![429, 503, 507].includes(res.status)) {
        ledger.unexpected.push(`submit ${model} for ${tenant.id}: ${res.status} ${text}`);
        return;
      }
      if (!idempotencyKey) return;
      retries++;
      await sleep(250);
    }
    ledger.unexpected.push(`submit ${idempotencyKey} never accepted`);
  };
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.max && !options.until()) {
        await one(next++);
        if (options.pauseMs) await sleep(options.pauseMs);
      }
    }),
  );
  return { tried: next, retries };
}

/**
 * Sends every keyed submit that was accepted once more, as a client that never saw its answer would:
 * each must answer with the job it was first given.
 */
export async function replayKeyedSubmits(server: TestServer, ledger: Ledger): Promise<void> {
  for (const entry of ledger.accepted) {
    if (!entry.idempotencyKey) continue;
    const n = Number(entry.idempotencyKey.slice(entry.idempotencyKey.lastIndexOf('-') + 1));
    const tenant = ledger.tenants.find((t) => t.id === entry.tenantId)!;
    const { model, input } = jobOf(n);
    const res = await server.api(`/v1/models/${model}/jobs`, {
      method: 'POST',
      token: tenant.apiKey,
      headers: { 'idempotency-key': entry.idempotencyKey },
      body: JSON.stringify({ input }),
    });
    const id = res.status === 202 ? ((await res.json()) as { id: string }).id : `${res.status}`;
    if (id !== entry.jobId) {
      ledger.unexpected.push(`replay of ${entry.idempotencyKey}: got ${id}, first answer ${entry.jobId}`);
    }
  }
}

/** One line per scenario with what each fault cost, for docs/operations.md. */
export function report(scenario: string, fields: Record<string, unknown>): void {
  console.log(`chaos-report ${JSON.stringify({ scenario, scale: SCALE, seed: SEED, ...fields })}`);
}
