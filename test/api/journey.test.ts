import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  // The webhook receiver below listens on loopback: allowed only because the operator says so here.
  server = await startTestServer({
    env: { SILOPOOL_WEBHOOK_ALLOW_HTTP: '1', SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1' },
  });
});
afterAll(async () => {
  await server?.stop();
});

describe('a user journey on the embedded default', () => {
  it('submits a finance job, follows it to success and downloads a real workbook', async () => {
    const tenant = newTenantId('acme');
    await server.createTenant(tenant);
    const token = await server.mintToken({ tenants: [tenant], user: 'alice' });

    const submit = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token,
      tenant,
      body: JSON.stringify({ input: { revenue: 1_000_000, years: 5 } }),
    });
    expect(submit.status).toBe(202);
    const accepted = (await submit.json()) as { id: string; status: string; links: { self: string } };
    expect(submit.headers.get('location')).toBe(`/v1/jobs/${accepted.id}`);
    expect(accepted.status).toBe('queued');

    const events = await server.api(`/v1/jobs/${accepted.id}/events`, { token, tenant });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const stream = await events.text();
    const statuses = [...stream.matchAll(/"status":"(\w+)"/g)].map((m) => m[1]);
    expect(statuses.at(-1)).toBe('succeeded');

    const job = (await waitForJob(server, token, accepted.id, { tenant })) as {
      status: string;
      summary: { enterpriseValue: number };
      artifacts: { name: string; url: string }[];
    };
    expect(job.status).toBe('succeeded');
    expect(job.summary.enterpriseValue).toBeGreaterThan(0);
    const artifact = job.artifacts[0]!;

    const download = await server.api(artifact.url, { token, tenant });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(download.headers.get('content-disposition')).toMatch(/attachment; filename=".+\.xlsx"/);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await download.arrayBuffer()) as never);
    const names = workbook.worksheets.map((w) => w.name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    // The enterprise value the API reported is a cached value somewhere in the workbook.
    const values: number[] = [];
    for (const sheet of workbook.worksheets) {
      sheet.eachRow((row) =>
        row.eachCell((cell) => {
          const v = cell.value as unknown;
          if (typeof v === 'number') values.push(v);
          else if (v && typeof v === 'object' && 'result' in v && typeof v.result === 'number')
            values.push(v.result);
        }),
      );
    }
    expect(
      values.some((v) => Math.abs(v - job.summary.enterpriseValue) < 1e-6 * job.summary.enterpriseValue),
    ).toBe(true);
  });

  it('lists, filters and pages jobs, and cancels only queued ones', async () => {
    const tenant = newTenantId('lister');
    const { apiKey } = await server.createTenant(tenant);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { years: 2 + i } }),
      });
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const id of ids) await waitForJob(server, apiKey, id);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await server.api(
        `/v1/jobs?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        {
          token: apiKey,
        },
      );
      const page = (await res.json()) as { items: { id: string }[]; nextCursor?: string };
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const filtered = await server.api('/v1/jobs?status=failed', { token: apiKey });
    expect(((await filtered.json()) as { items: unknown[] }).items).toEqual([]);
    const cancel = await server.api(`/v1/jobs/${ids[0]}`, { method: 'DELETE', token: apiKey });
    expect(cancel.status).toBe(409);
  });

  it('makes retries safe with an Idempotency-Key', async () => {
    const tenant = newTenantId('idem');
    const { apiKey } = await server.createTenant(tenant);
    const send = (body: unknown) =>
      server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        headers: { 'idempotency-key': 'order-42' },
        body: JSON.stringify(body),
      });
    const first = (await (await send({ input: { years: 3 } })).json()) as { id: string };
    const again = await send({ input: { years: 3 } });
    expect(again.status).toBe(202);
    expect(((await again.json()) as { id: string }).id).toBe(first.id);
    const different = await send({ input: { years: 4 } });
    expect(different.status).toBe(409);
    expect(different.headers.get('content-type')).toContain('application/problem+json');
    const list = (await (await server.api('/v1/jobs', { token: apiKey })).json()) as { items: unknown[] };
    expect(list.items).toHaveLength(1);
  });

  it('posts a Standard Webhooks signed notification when a job finishes', async () => {
    const received: { headers: Record<string, string>; body: string }[] = [];
    let failFirst = true;
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        // The first delivery fails, so the retry path is exercised too.
        if (failFirst) {
          failFirst = false;
          res.writeHead(500).end();
          return;
        }
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const tenant = newTenantId('hook');
      const { apiKey } = await server.createTenant(tenant);
      const port = (hook.address() as AddressInfo).port;
      const set = await server.api('/v1/settings/webhook', {
        method: 'PUT',
        token: apiKey,
        body: JSON.stringify({ url: `http://127.0.0.1:${port}/hook` }),
      });
      const { secret } = (await set.json()) as { secret: string };
      const res = await server.api('/v1/models/finance/jobs', {
        method: 'POST',
        token: apiKey,
        body: '{"input":{}}',
      });
      const { id } = (await res.json()) as { id: string };
      await waitForJob(server, apiKey, id);
      const deadline = Date.now() + 15_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(received).toHaveLength(1);
      const delivery = received[0]!;
      const payload = new Webhook(secret).verify(delivery.body, delivery.headers) as {
        type: string;
        data: { id: string };
      };
      expect(payload.type).toBe('job.succeeded');
      expect(payload.data.id).toBe(id);
      expect(() => new Webhook(secret).verify(`${delivery.body} `, delivery.headers)).toThrow();
    } finally {
      hook.close();
    }
  });
});
