import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

/**
 * A job record's artifact entry (content type, sha256) is text a release's handler wrote; a download's
 * headers must not carry it. Here the stored record is changed straight in its SQLite file to what a
 * faulty or hostile release could write (CR/LF, quotes, a header of its own), then downloaded: the answer
 * is the workbook with the content type the object store checked at put, and no ETag.
 */
let server: TestServer;
let apiKey: string;
let jobId: string;

beforeAll(async () => {
  server = await startTestServer();
  const tenant = newTenantId('hdr');
  ({ apiKey } = await server.createTenant(tenant));
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: apiKey,
    body: '{"input":{}}',
  });
  jobId = ((await res.json()) as { id: string }).id;
  expect((await waitForJob(server, apiKey, jobId)).status).toBe('succeeded');
  const db = new Database(join(server.dataDir, 'jobs.sqlite'));
  const row = db.prepare('SELECT doc FROM job_items WHERE sk = ?').get(`JOB#${jobId}`) as { doc: string };
  const doc = JSON.parse(row.doc) as { artifacts: Record<string, unknown>[] };
  doc.artifacts[0] = {
    ...doc.artifacts[0],
    contentType: 'text/html\r\nX-Injected: 1',
    sha256: '"\r\nSet-Cookie: a=b',
  };
  db.prepare('UPDATE job_items SET doc = ? WHERE sk = ?').run(JSON.stringify(doc), `JOB#${jobId}`);
  db.close();
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

describe('an artifact download whose record holds odd text', () => {
  it('answers 200 with the stored content type, and no header the record spelled', async () => {
    const res = await server.api(`/v1/jobs/${jobId}/artifacts/workbook.xlsx`, { token: apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(res.headers.get('x-injected')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('etag')).toBeNull();
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.subarray(0, 2).toString('latin1')).toBe('PK');
  });
});
