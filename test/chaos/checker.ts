import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';
import { expect } from 'vitest';
import type { TestServer } from '../support/server.ts';
import type { Receiver } from './receivers.ts';
import { messagesNaming, objectFiles, readStoredJobs } from './stored.ts';
import { type ChaosTenant, type Ledger, SEED, sleep } from './support.ts';

/**
 * The one checker every chaos scenario ends with. It reads every store — the job records through the
 * API as each tenant and as an operator, the SQLite files directly, every artifact downloaded and
 * re-hashed, the queues and dead-letter queues, the webhook receivers and each tenant's webhook health —
 * and fails listing every finding at once:
 *
 * - 0 lost: every 202 a client got is a job that exists, in the API (both views) and in exactly one store;
 * - 0 doubled: one job per Idempotency-Key, one record per job, at most one result per job (one artifact,
 *   one terminal status announced);
 * - 0 stuck: every job terminal within `terminalWithinMs` of the faults stopping, and every lane queue
 *   empty by then;
 * - 0 corrupt: every succeeded job's workbook downloads whole (its record's size and sha256) and is a
 *   valid xlsx zip;
 * - every notification delivered (signed, once per webhook-id, duplicates only with the same id) or, for a
 *   receiver that cannot take it, held on the webhook queue or its dead-letter queue while the tenant's
 *   `GET /v1/settings/webhook` shows the endpoint failing.
 */
export interface CheckOptions {
  /** When the last fault ended (epoch ms; default: now): the bounds below count from it. */
  faultsEndedAt?: number;
  terminalWithinMs: number;
  /** Failure codes the scenario's faults may cause (a job killed on every delivery is `dead_lettered`). */
  allowedFailures?: string[];
  /** How long notifications to receivers that take them may still be on their way after the jobs end. */
  notifyWithinMs?: number;
  /**
   * Jobs were run again after they ended (an operator's redrive of dead letters): a job that failed, was
   * announced `job.failed`, then redriven and succeeded was told both, each once; that failure is no double.
   */
  rerunAfterFailure?: boolean;
}

export interface CheckReport {
  jobs: number;
  accepted: number;
  byStatus: Record<string, number>;
  failures: Record<string, number>;
  /** Milliseconds from the faults' end until every job was terminal (as first seen by this check). */
  terminalAfterMs: number;
  /** Most deliveries a job ever needed (more than one: it was run again after a fault). */
  maxAttempts: number;
  notifications: {
    delivered: number;
    duplicateDeliveries: number;
    heldVisibly: number;
    settledAfterMs: number;
  };
  /** Temp files of object writes a crash cut short (never published, never listed). */
  tempFiles: number;
  /** Whole workbooks of jobs that ended failed (written, then the record's commit failed). */
  unreferencedArtifacts: number;
  /** Dead letters of jobs that succeeded (their last allowed delivery ran them; the delete was cut off). */
  staleDeadLetters: number;
}

interface JobView {
  id: string;
  status: string;
  attempts: number;
  error?: { code: string };
  artifacts: { name: string; size: number; sha256: string; url: string }[];
}

interface WebhookSettings {
  health?: {
    state: string;
    consecutiveFailures: number;
    lastError?: string;
    deadLetteredDeliveries?: number;
  };
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
const WEBHOOK_QUEUES = ['system_webhooks', 'system_webhooks-dlq'];

async function json<T>(res: Response, what: string): Promise<T> {
  if (res.status !== 200) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function listJobs(server: TestServer, token: string, tenant?: string): Promise<JobView[]> {
  const out: JobView[] = [];
  let cursor: string | undefined;
  do {
    const page = await json<{ items: JobView[]; nextCursor?: string }>(
      await server.api(`/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
        token,
        ...(tenant ? { tenant } : {}),
      }),
      `jobs of ${tenant ?? 'a tenant'}`,
    );
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** Runs `fn` over `items`, `width` at a time. */
async function eachLimited<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function checkChaos(
  server: TestServer,
  ledger: Ledger,
  options: CheckOptions,
): Promise<CheckReport> {
  const findings: string[] = [...ledger.unexpected];
  const started = options.faultsEndedAt ?? Date.now();
  const deadline = started + options.terminalWithinMs;

  // 0 stuck: every job of every tenant terminal within the bound.
  const views = new Map<string, Map<string, JobView>>();
  for (;;) {
    for (const t of ledger.tenants) {
      views.set(t.id, new Map((await listJobs(server, t.apiKey)).map((j) => [j.id, j])));
    }
    const open = [...views.values()].flatMap((m) => [...m.values()]).filter((j) => !TERMINAL.has(j.status));
    if (open.length === 0) break;
    if (Date.now() > deadline) {
      for (const j of open) findings.push(`stuck: ${j.id} ${j.status} after ${j.attempts} attempts`);
      break;
    }
    await sleep(250);
  }
  const terminalAfterMs = Date.now() - started;
  const allJobs = [...views.values()].flatMap((m) => [...m.values()]);

  // The operator's view of each tenant is the tenant's own.
  const operator = await server.mintToken({
    tenants: ledger.tenants.map((t) => t.id),
    user: 'chaos-checker',
    roles: ['operator'],
  });
  for (const t of ledger.tenants) {
    const seen = (await listJobs(server, operator, t.id)).map((j) => `${j.id}:${j.status}`).sort();
    const own = [...views.get(t.id)!.values()].map((j) => `${j.id}:${j.status}`).sort();
    if (JSON.stringify(seen) !== JSON.stringify(own)) findings.push(`operator view of ${t.id} differs`);
  }

  // 0 lost, 0 doubled: every accepted job exists; one job per Idempotency-Key.
  const byKey = new Map<string, Set<string>>();
  for (const a of ledger.accepted) {
    if (!views.get(a.tenantId)?.has(a.jobId)) findings.push(`lost: ${a.tenantId}/${a.jobId} was accepted`);
    if (a.idempotencyKey) {
      const key = `${a.tenantId}/${a.idempotencyKey}`;
      byKey.set(key, new Set([...(byKey.get(key) ?? []), a.jobId]));
    }
  }
  for (const [key, ids] of byKey) if (ids.size > 1) findings.push(`doubled: ${key} answered ${[...ids]}`);

  // The stores themselves: each job in exactly one record, in its tenant's home store; keys bound once.
  const stored = readStoredJobs(server.dataDir);
  for (const t of ledger.tenants) {
    const data = stored.get(t.id) ?? { jobs: [], keys: new Map() };
    const placement = await json<{ placement: string; move?: unknown }>(
      await server.api(`/v1/admin/tenants/${t.id}`, { token: server.operatorToken }),
      `tenant ${t.id}`,
    );
    const records = new Map<string, number>();
    const keyed = new Map<string, string[]>();
    for (const { store, job } of data.jobs) {
      records.set(job.id, (records.get(job.id) ?? 0) + 1);
      if (store !== placement.placement) findings.push(`${job.id} of ${t.id} left in the ${store} store`);
      if (job.idempotencyKey)
        keyed.set(job.idempotencyKey, [...(keyed.get(job.idempotencyKey) ?? []), job.id]);
      if (job.artifacts.length > 1) findings.push(`doubled: ${job.id} has ${job.artifacts.length} artifacts`);
      if (job.status !== 'succeeded' && job.artifacts.length > 0)
        findings.push(`${job.id} is ${job.status} with artifacts`);
    }
    for (const [id, n] of records) if (n > 1) findings.push(`doubled: ${id} has ${n} records`);
    for (const [key, ids] of keyed) if (ids.length > 1) findings.push(`doubled: key ${key} → ${ids}`);
    const api = [...views.get(t.id)!.keys()].sort();
    if (JSON.stringify([...records.keys()].sort()) !== JSON.stringify(api))
      findings.push(`${t.id}: the stores hold ${records.size} jobs, the API lists ${api.length}`);
    for (const a of ledger.accepted.filter((e) => e.tenantId === t.id && e.idempotencyKey)) {
      const bound = data.keys.get(a.idempotencyKey!);
      if (bound !== a.jobId) findings.push(`key ${a.idempotencyKey} bound to ${bound}, answered ${a.jobId}`);
    }
  }

  // 0 corrupt: each succeeded job's one workbook downloads whole and unzips.
  const tenantOf = new Map(ledger.tenants.flatMap((t) => [...views.get(t.id)!.keys()].map((id) => [id, t])));
  await eachLimited(
    allJobs.filter((j) => j.status === 'succeeded'),
    6,
    async (job) => {
      const [artifact, ...more] = job.artifacts;
      if (!artifact || more.length > 0 || artifact.name !== 'workbook.xlsx') {
        findings.push(`${job.id} succeeded with artifacts ${job.artifacts.map((a) => a.name)}`);
        return;
      }
      const res = await server.api(artifact.url, { token: tenantOf.get(job.id)!.apiKey });
      const body = new Uint8Array(await res.arrayBuffer());
      const sha256 = createHash('sha256').update(body).digest('hex');
      if (res.status !== 200 || body.byteLength !== artifact.size || sha256 !== artifact.sha256) {
        findings.push(
          `corrupt: ${job.id} ${res.status}, ${body.byteLength}/${artifact.size} bytes, sha256 ${sha256}`,
        );
        return;
      }
      try {
        const entries = unzipSync(body);
        if (!entries['xl/workbook.xml'] || !entries['[Content_Types].xml']) throw new Error('not a workbook');
      } catch (error) {
        findings.push(`corrupt: ${job.id} is not an xlsx zip (${String(error)})`);
      }
    },
  );
  const files = objectFiles(server.dataDir);
  const jobsById = new Map(allJobs.map((j) => [j.id, j]));
  let unreferencedArtifacts = 0;
  for (const file of files.filter((f) => !f.temp)) {
    const job = jobsById.get(file.jobId);
    if (!job) findings.push(`an artifact of no job: ${file.path}`);
    else if (job.status !== 'succeeded') unreferencedArtifacts++;
  }

  // Failures only of the kinds the faults may cause; nothing cancelled (no client cancels here).
  const failures: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  for (const j of allJobs) {
    byStatus[j.status] = (byStatus[j.status] ?? 0) + 1;
    if (j.status === 'cancelled') findings.push(`${j.id} cancelled`);
    if (j.status !== 'failed') continue;
    const code = j.error?.code ?? 'none';
    failures[code] = (failures[code] ?? 0) + 1;
    if (!(options.allowedFailures ?? []).includes(code)) findings.push(`${j.id} failed: ${code}`);
  }

  const staleDeadLetters = { count: 0 };
  findings.push(
    ...(await checkQueues(server, jobsById, Math.max(deadline, Date.now() + 10_000), staleDeadLetters)),
  );
  const notifications = await checkNotifications(
    server,
    ledger.tenants,
    views,
    // A delivery the dispatcher had received when the server was killed comes back only after the webhook
    // queue's 30 s visibility timeout: at-least-once, not lost; the default wait covers it.
    options.notifyWithinMs ?? 45_000,
    options.rerunAfterFailure === true,
  );
  findings.push(...notifications.findings);

  expect(findings, `chaos findings (replay with CHAOS_SEED=${SEED})`).toEqual([]);
  return {
    jobs: allJobs.length,
    accepted: ledger.accepted.length,
    byStatus,
    failures,
    terminalAfterMs,
    maxAttempts: Math.max(0, ...allJobs.map((j) => j.attempts)),
    notifications: notifications.counts,
    tempFiles: files.filter((f) => f.temp).length,
    unreferencedArtifacts,
    staleDeadLetters: staleDeadLetters.count,
  };
}

/**
 * Every lane queue empty (what is left of a terminal job's message goes within a visibility timeout), and
 * every dead letter belongs to a job settled as failed.
 */
async function checkQueues(
  server: TestServer,
  jobs: Map<string, JobView>,
  deadline: number,
  stale: { count: number },
): Promise<string[]> {
  type QueueItem = { queue: string; visible: number; inFlight: number; delayed: number; deadLetters: number };
  let lanes: QueueItem[] = [];
  for (;;) {
    const { items } = await json<{ items: QueueItem[] }>(
      await server.api('/v1/admin/queues', { token: server.operatorToken }),
      'queues',
    );
    lanes = items.filter((q) => !q.queue.startsWith('system_'));
    if (lanes.every((q) => q.visible + q.inFlight + q.delayed === 0) || Date.now() > deadline) break;
    await sleep(250);
  }
  const findings = lanes
    .filter((q) => q.visible + q.inFlight + q.delayed > 0)
    .map((q) => `queue ${q.queue} not empty: ${JSON.stringify(q)}`);
  for (const q of lanes.filter((l) => l.deadLetters > 0)) {
    const { items } = await json<{ items: { body: string }[] }>(
      await server.api(`/v1/admin/dead-letters?queue=${q.queue}`, { token: server.operatorToken }),
      `dead letters of ${q.queue}`,
    );
    for (const letter of items) {
      const jobId = (JSON.parse(letter.body) as { jobId: string }).jobId;
      const job = jobs.get(jobId);
      // A succeeded job's letter is a late copy: its last allowed delivery ran it, and the server died before
      // deleting the message (its redrive only finds the job done). Anything else must have been settled.
      if (job?.status === 'succeeded') stale.count++;
      else if (job?.status !== 'failed')
        findings.push(`dead letter of ${jobId} in ${q.queue}: job ${job?.status}`);
    }
  }
  return findings;
}

/** Notifications per webhook-id; see the checker's summary. */
async function checkNotifications(
  server: TestServer,
  tenants: ChaosTenant[],
  views: Map<string, Map<string, JobView>>,
  withinMs: number,
  rerunAfterFailure = false,
): Promise<{ findings: string[]; counts: CheckReport['notifications'] }> {
  const deadline = Date.now() + withinMs;
  const started = Date.now();
  const counts = { delivered: 0, duplicateDeliveries: 0, awaitingAck: 0, heldVisibly: 0, settledAfterMs: 0 };
  const findings: string[] = [];
  for (const t of tenants.filter((x): x is ChaosTenant & { receiver: Receiver } => Boolean(x.receiver))) {
    const jobs = views.get(t.id)!;
    const expected = new Map(
      [...jobs.values()]
        .filter((j) => j.status === 'succeeded' || j.status === 'failed')
        .map((j) => [`msg_${j.id}_${j.status}`, j.id]),
    );
    // Receivers that answer 2xx (at once, or at the retry after a slow first answer) must get everything.
    const b = t.receiver.behaviour;
    const takesAll = b === 'ok' || (typeof b === 'object' && 'slowMs' in b);
    let missing: string[] = [];
    let health: WebhookSettings['health'];
    for (;;) {
      const delivered = new Set(t.receiver.deliveries.map((d) => d.webhookId));
      missing = [...expected.keys()].filter((id) => !delivered.has(id));
      health = (
        await json<WebhookSettings>(await server.api('/v1/settings/webhook', { token: t.apiKey }), 'webhook')
      ).health;
      const visible =
        health !== undefined && (health.state !== 'healthy' || (health.deadLetteredDeliveries ?? 0) > 0);
      if (missing.length === 0 || (!takesAll && visible) || Date.now() > deadline) break;
      await sleep(250);
    }
    counts.settledAfterMs = Math.max(counts.settledAfterMs, Date.now() - started);
    const ids = new Map<string, number>();
    for (const d of t.receiver.deliveries) {
      ids.set(d.webhookId, (ids.get(d.webhookId) ?? 0) + 1);
      if (!d.verified) findings.push(`unsigned or badly signed delivery ${d.webhookId} to ${t.id}`);
      if (d.webhookId !== `msg_${d.jobId}_${d.type.replace(/^job\./, '')}`)
        findings.push(`delivery ${d.webhookId} to ${t.id} carries ${d.type} of ${d.jobId}`);
      const earlierFailure =
        rerunAfterFailure && d.type === 'job.failed' && jobs.get(d.jobId)?.status === 'succeeded';
      if (!expected.has(d.webhookId) && !earlierFailure)
        findings.push(
          `doubled: ${t.id} was told ${d.type} of ${d.jobId}, which is ${jobs.get(d.jobId)?.status}`,
        );
    }
    counts.delivered += ids.size;
    counts.duplicateDeliveries += [...ids.values()].reduce((sum, n) => sum + n - 1, 0);
    // Delivered, but the sender has not seen it succeed (killed before its queue delete, the delete found
    // the disk full, the receiver answered after the timeout): it comes again with the same webhook-id.
    if (takesAll && missing.length === 0)
      counts.awaitingAck += messagesNaming(server.dataDir, ['system_webhooks'], [...expected.values()]).size;
    if (missing.length === 0) continue;
    if (takesAll) {
      findings.push(`${t.id}: ${missing.length} notifications never delivered, e.g. ${missing[0]}`);
      continue;
    }
    // Held visibly: on the webhook queue (retrying) or its dead-letter queue, and the endpoint shown failing.
    if (
      !health ||
      (health.state === 'healthy' && (health.deadLetteredDeliveries ?? 0) === 0) ||
      !health.lastError
    )
      findings.push(
        `${t.id}: ${missing.length} notifications undelivered while health says ${JSON.stringify(health)}`,
      );
    const held = messagesNaming(
      server.dataDir,
      WEBHOOK_QUEUES,
      missing.map((id) => expected.get(id)!),
    );
    for (const id of missing)
      if (!held.has(expected.get(id)!)) findings.push(`lost notification ${id} of ${t.id}`);
    counts.heldVisibly += held.size;
  }
  return { findings, counts };
}
