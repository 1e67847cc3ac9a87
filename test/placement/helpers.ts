import { unzipSync } from 'fflate';
import { expect } from 'vitest';
import type { TestServer } from '../support/server.ts';

export interface FunctionInfo {
  name: string;
  tenantId: string;
  model: string;
  pid?: number;
  state: 'cold' | 'warm';
  release?: string;
  coldStartMs?: number;
  startedFrom?: 'spare' | 'fork';
  coldStarts: number;
  inFlight: number;
}

export async function functions(server: TestServer): Promise<FunctionInfo[]> {
  const res = await server.api('/v1/admin/functions', { token: server.operatorToken });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: FunctionInfo[] }).items;
}

/** The spare function processes the server's dedicated host keeps now (`GET /v1/admin/functions`). */
export async function spares(server: TestServer): Promise<{ loaded: number; loading: number }> {
  const res = await server.api('/v1/admin/functions', { token: server.operatorToken });
  expect(res.status).toBe(200);
  return ((await res.json()) as { spares: { loaded: number; loading: number } }).spares;
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function submit(
  server: TestServer,
  token: string,
  input: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  model = 'finance',
) {
  const res = await server.api(`/v1/models/${model}/jobs`, {
    method: 'POST',
    token,
    headers,
    body: JSON.stringify({ input }),
  });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; status: string };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A `funds` job that runs for about a second: 100,000 Monte Carlo paths. */
export const SLOW_FUNDS = { simulations: 100_000 };

export interface Operation {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  progress: number;
  steps: { name: string; status: string; detail?: string }[];
  error?: { message: string };
}

export async function startMove(
  server: TestServer,
  tenant: string,
  placement: 'shared' | 'dedicated',
): Promise<Operation> {
  const res = await server.api(`/v1/admin/tenants/${tenant}/placement`, {
    method: 'POST',
    token: server.operatorToken,
    body: JSON.stringify({ placement }),
  });
  if (res.status !== 202) throw new Error(`move: ${res.status} ${await res.text()}`);
  return (await res.json()) as Operation;
}

export async function operation(server: TestServer, id: string): Promise<Operation> {
  const res = await server.api(`/v1/admin/operations/${id}`, { token: server.operatorToken });
  expect(res.status).toBe(200);
  return (await res.json()) as Operation;
}

export async function waitForOperation(
  server: TestServer,
  id: string,
  timeoutMs = 60_000,
): Promise<Operation> {
  let last: Operation | undefined;
  return until(
    `operation ${id}`,
    async () => {
      last = await operation(server, id);
      return last.status !== 'running' ? last : undefined;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}: ${JSON.stringify(last?.steps)}`);
  });
}

/** Starts offboarding (POST …/offboard, or DELETE): 202 with the operation, its Location header checked. */
export async function startOffboard(
  server: TestServer,
  tenant: string,
  method: 'POST' | 'DELETE' = 'POST',
): Promise<Operation & { kind: string }> {
  const path = method === 'POST' ? `/v1/admin/tenants/${tenant}/offboard` : `/v1/admin/tenants/${tenant}`;
  const res = await server.api(path, { method, token: server.operatorToken });
  if (res.status !== 202) throw new Error(`offboard: ${res.status} ${await res.text()}`);
  const op = (await res.json()) as Operation & { kind: string };
  expect(res.headers.get('location')).toBe(`/v1/admin/operations/${op.id}`);
  return op;
}

/** An offboarding's export, unzipped. */
export async function exportOf(server: TestServer, operationId: string): Promise<Record<string, Uint8Array>> {
  const res = await server.api(`/v1/admin/operations/${operationId}/export`, { token: server.operatorToken });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/zip');
  return unzipSync(new Uint8Array(await res.arrayBuffer()));
}

/** Offboards a tenant and waits for the operation to succeed. */
export async function offboardTenant(server: TestServer, tenant: string): Promise<void> {
  const op = await startOffboard(server, tenant);
  expect((await waitForOperation(server, op.id)).status).toBe('succeeded');
}

/** Pauses a tenant's work (`maxRunningJobs` 0): its jobs stay queued, so a stream of one stays open. */
export async function pauseTenant(server: TestServer, tenant: string): Promise<void> {
  const paused = await server.api(`/v1/admin/tenants/${tenant}`, {
    method: 'PATCH',
    token: server.operatorToken,
    body: JSON.stringify({ config: { limits: { maxRunningJobs: 0 } } }),
  });
  expect(paused.status).toBe(200);
}
