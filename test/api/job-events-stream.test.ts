import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteJobStore } from '../../src/adapters/embedded/job-store.ts';
import { createEventStreams, type EventStreams } from '../../src/api/event-streams.ts';
import { streamJobEvents } from '../../src/api/routes/job-events-stream.ts';
import type { JobRecord } from '../../src/core/job.ts';
import type { TenantJobStore } from '../../src/ports/job-store.ts';
import { createJobEvents, type JobEvents } from '../../src/runtime/job-events.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

// The stream's own bookkeeping, below the route: how often it asks whether its credential still grants the
// tenant (each answer is an authentication: a tenant read, on DynamoDB a request), and that it stops asking
// once its client is gone.

const teardowns: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const teardown of teardowns.splice(0).reverse()) await teardown();
});

interface Harness {
  url: string;
  events: JobEvents;
  streams: EventStreams;
  jobs: TenantJobStore;
  job: JobRecord;
  /** How many times the stream asked `granted`. */
  checks(): number;
}

async function harness(
  settings: { pollMs: number; maxPerTenant?: number },
  granted: () => boolean = () => true,
  /** Waited for by the route before the stream starts (the credential and job reads of the real route). */
  before: (request: FastifyRequest) => Promise<void> = async () => {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-sse-'));
  const db = openDatabase(join(dir, 'silopool.db'));
  teardowns.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const tenantId = randomTenantId('sse');
  const jobs = createSqliteJobStore(db).forTenant(tenantId);
  const job = makeJob(tenantId);
  await jobs.create(job);
  const events = createJobEvents();
  const streams = createEventStreams(events, settings);
  let checks = 0;
  const app: FastifyInstance = Fastify();
  app.get('/events', async (request, reply) => {
    await before(request);
    const initial = (await jobs.get(job.id))!;
    const tenant = { id: tenantId, createdAt: job.createdAt };
    await streamJobEvents(streams, request, reply, jobs, initial, tenant, async () => {
      checks++;
      return granted();
    });
    return reply;
  });
  const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/events`;
  teardowns.push(async () => {
    streams.close();
    await app.close();
  });
  return { url, events, streams, jobs, job, checks: () => checks };
}

/** The tenant's one stream slot is free: a new stream opens (200, not 429). */
async function expectSlotFree(h: Harness): Promise<void> {
  const again = new AbortController();
  teardowns.push(() => again.abort());
  expect((await fetch(h.url, { signal: again.signal })).status).toBe(200);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readUntil(res: Response, wanted: string): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(wanted)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

describe("a job's event stream asks whether its credential still grants the tenant", () => {
  it('only before it delivers something: an unchanged job re-read by the shared poll costs no check', async () => {
    // The poll of the AWS backend (5 s) and of the Lambda API (1 s) re-reads every watched job each tick.
    const h = await harness({ pollMs: 20 });
    const controller = new AbortController();
    const res = await fetch(h.url, { signal: controller.signal });
    teardowns.push(() => controller.abort());
    await readUntil(res, '"status":"queued"');
    await sleep(400);
    // About twenty ticks of the unchanged job: none of them is delivered, so none needs the credential.
    expect(h.checks()).toBeLessThanOrEqual(1);
    await h.jobs.update({ ...h.job, status: 'cancelled', version: 2 }, 1);
    const text = await readUntil(res, '"status":"cancelled"');
    expect(text).toContain('"status":"cancelled"');
    expect(h.checks()).toBeGreaterThanOrEqual(1);
  });

  it('no more once its client has gone, and its slot is free again', async () => {
    const h = await harness({ pollMs: 0, maxPerTenant: 1 });
    const controller = new AbortController();
    const res = await fetch(h.url, { signal: controller.signal });
    await readUntil(res, '"status":"queued"');
    controller.abort();
    await sleep(200);
    const before = h.checks();
    for (let version = 2; version < 6; version++)
      h.events.publish({
        ...h.job,
        status: 'running',
        version,
        progress: { done: version, total: 10, unit: 'paths' },
      });
    await sleep(100);
    expect(h.checks()).toBe(before);
    // The one slot of the tenant was given back: a new stream opens.
    await expectSlotFree(h);
  });

  it('ends with access_ended when the answer is no, delivers nothing more, and frees its slot', async () => {
    let grants = true;
    const h = await harness({ pollMs: 0, maxPerTenant: 1 }, () => grants);
    const controller = new AbortController();
    teardowns.push(() => controller.abort());
    const res = await fetch(h.url, { signal: controller.signal });
    const reading = res.text();
    await sleep(100);
    grants = false;
    h.events.publish({ ...h.job, status: 'running', version: 2 });
    h.events.publish({ ...h.job, status: 'cancelled', version: 3 });
    const text = await reading;
    expect(text).not.toContain('"status":"running"');
    expect(text).not.toContain('"status":"cancelled"');
    expect(text.endsWith('event: reconnect\ndata: {"reason":"access_ended"}\n\n')).toBe(true);
    grants = true;
    await expectSlotFree(h);
  });

  it('ends with check_failed, not access_ended, when the check itself fails, and delivers nothing unchecked', async () => {
    let fails = false;
    const h = await harness({ pollMs: 0, maxPerTenant: 1 }, () => {
      if (fails) throw new Error('SQLITE_IOERR: disk I/O error');
      return true;
    });
    const controller = new AbortController();
    teardowns.push(() => controller.abort());
    const res = await fetch(h.url, { signal: controller.signal });
    const reading = res.text();
    await sleep(100);
    fails = true;
    h.events.publish({ ...h.job, status: 'cancelled', version: 2 });
    const text = await reading;
    expect(text).not.toContain('"status":"cancelled"');
    expect(text.endsWith('event: reconnect\ndata: {"reason":"check_failed"}\n\n')).toBe(true);
    fails = false;
    await expectSlotFree(h);
  });

  it('whose client left before it started holds no slot and asks nothing', async () => {
    // A client that gives up while the route still reads its credential and the job: the request's `close`
    // has come and gone before the stream listens for it, and writes to a gone socket fail silently.
    let gone: () => void = () => {};
    const left = new Promise<void>((resolve) => (gone = resolve));
    let first = true;
    const h = await harness({ pollMs: 0, maxPerTenant: 1 }, undefined, async (request) => {
      if (!first) return;
      first = false;
      request.raw.once('close', () => gone());
      await left;
    });
    const controller = new AbortController();
    const opening = fetch(h.url, { signal: controller.signal }).catch(() => undefined);
    await sleep(100);
    controller.abort();
    await opening;
    await left;
    await sleep(100);
    h.events.publish({ ...h.job, status: 'running', version: 2 });
    await sleep(50);
    expect(h.checks()).toBe(0);
    await expectSlotFree(h);
  });
});
