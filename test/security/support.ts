import { crc32, deflateSync } from 'node:zlib';
import { expect } from 'vitest';
import { newTenantId, type TestServer } from '../support/server.ts';

/** A real PNG of `width`×`height` opaque pixels, built from its chunks. */
export function tinyPng(width = 1, height = 1): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const raw = Buffer.alloc(height * (1 + width * 4), 0xff);
  for (let y = 0; y < height; y++) raw[y * (1 + width * 4)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export async function expectProblem(res: Response, status: number, code?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  const body = (await res.json()) as {
    status: number;
    code: string;
    detail: string;
    errors?: { path: string; message: string }[];
  };
  expect(body.status).toBe(status);
  if (code) expect(body.code).toBe(code);
  return body;
}

/** A tenant that is never touched by the attack: its submits must keep working after each one. */
export async function createWitness(server: TestServer): Promise<{ id: string; apiKey: string }> {
  const id = newTenantId('witness');
  const { apiKey } = await server.createTenant(id, { plan: 'enterprise' });
  return { id, apiKey };
}

/** The witness still gets its own, correct answer: a finance job accepted, with its own defaults applied. */
export async function expectServesWitness(server: TestServer, witness: { apiKey: string }): Promise<void> {
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: witness.apiKey,
    body: JSON.stringify({ input: { years: 5 } }),
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const models = await server.api('/v1/models/finance', { token: witness.apiKey });
  expect(models.status).toBe(200);
  const schema = ((await models.json()) as { inputSchema: { properties: Record<string, unknown> } })
    .inputSchema;
  expect(JSON.stringify(schema)).not.toContain('x-rule');
}
