import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { secureDataDir } from '../adapters/embedded/data-dir.ts';
import { type DataDirLock, lockDataDir } from '../adapters/embedded/data-dir-lock.ts';
import {
  createEmbeddedTenantEraser,
  createSqliteOperationStore,
} from '../adapters/embedded/operation-store.ts';
import { loadEmbeddedIssuer } from '../api/auth/issuer.ts';
import { tenantView } from '../api/routes/admin.ts';
import { listApiKeys, revokeApiKey, rotateApiKey } from '../control/api-keys.ts';
import { offboardNow } from '../control/offboard-operation.ts';
import { recordOnboarding } from '../control/onboarding.ts';
import { operationView } from '../control/operations.ts';
import type { BillingDeps } from '../control/statements.ts';
import {
  type CreateTenantInput,
  createTenant,
  issueApiKey,
  type TenantPatch,
  updateTenant,
} from '../control/tenants.ts';
import { mintUserToken } from '../control/tokens.ts';
import type { ApiKeyView } from '../core/api-keys.ts';
import { DataDirInUseError } from '../core/errors.ts';
import { parseTenantId } from '../core/ids.ts';
import type { Role } from '../core/principal.ts';
import { settingOf } from '../core/settings.ts';
import { readTokenLifetimes } from '../core/token-lifetime.ts';
import { costTableFromEnv } from '../entry/billing-wiring.ts';
import { openEmbeddedPlatform } from '../entry/embedded-wiring.ts';
import { CliError, problemError } from './errors.ts';

type TenantJson = ReturnType<typeof tenantView>;

/** What the CLI does as an operator, over HTTP against a running server or directly on its DATA_DIR. */
export interface Operator {
  mode: 'server' | 'data-dir';
  where: string;
  createTenant(input: CreateTenantInput): Promise<{ tenant: TenantJson; apiKey: string }>;
  listTenants(): Promise<TenantJson[]>;
  getTenant(id: string): Promise<TenantJson>;
  updateTenant(id: string, patch: TenantPatch): Promise<TenantJson>;
  mintToken(claims: { tenants: string[]; user: string; roles: Role[]; expiresIn?: string }): Promise<string>;
  listApiKeys(id: string): Promise<ApiKeyView[]>;
  /** A new key for the tenant, shown once. */
  issueApiKey(id: string): Promise<{ apiKey: string }>;
  revokeApiKey(id: string, keyId: string): Promise<void>;
  rotateApiKey(id: string, keyId: string, graceSeconds: number): Promise<RotatedKey>;
  /** Starts a placement move (needs the running server: its functions drain the old lane). */
  moveTenant(id: string, to: 'shared' | 'dedicated'): Promise<OperationJson>;
  getOperation(id: string): Promise<OperationJson>;
  /** Exports (zip bytes) and deletes the tenant. */
  offboardTenant(id: string): Promise<Uint8Array>;
  /** Raw HTTP for commands that only make sense against a running server. */
  request?(method: string, path: string, body?: unknown): Promise<unknown>;
  /** The ledger and billing items, when the CLI opened the data folder itself (cli/billing.ts). */
  billing?: BillingDeps;
  close(): Promise<void>;
}

export interface OperationJson {
  id: string;
  tenantId: string;
  status: 'running' | 'succeeded' | 'failed';
  progress: number;
  steps: { name: string; status: string; detail?: string }[];
  error?: { code?: string; message: string };
}

export type RotatedKey = Awaited<ReturnType<typeof rotateApiKey>>;

export { CliError };

export interface ConnectOptions {
  server?: string;
  token?: string;
  dataDir?: string;
}

/** Prefers the running server (the one holding DATA_DIR, at its server-url) and falls back to the data folder. */
export async function connect(options: ConnectOptions): Promise<Operator> {
  // An empty DATA_DIR is unset, as for the server (resolve('') is the working folder).
  const dataDir = resolve(options.dataDir || settingOf(process.env, 'DATA_DIR') || './data');
  // Empty is unset: SILOPOOL_URL= or SILOPOOL_TOKEN= hid the running server and its operator token, and the
  // CLI opened DATA_DIR itself (refused while the server holds it).
  const server = options.server || settingOf(process.env, 'SILOPOOL_URL') || runningServerUrl(dataDir);
  const tokenFile = join(dataDir, 'operator-token');
  const token =
    (options.token || settingOf(process.env, 'SILOPOOL_TOKEN')) ??
    (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  if (server && token && (await reachable(server))) return httpOperator(server, token);
  if (options.server) throw new CliError(`No Silopool server answers at ${options.server}.`);
  return directOperator(dataDir, server);
}

/**
 * The address of the server that holds DATA_DIR now, as it wrote it after taking the lock; undefined when
 * none does. `server-url` outlives its server: read alone, it sent the operator token to whatever listened
 * at that address after the server stopped (any local user may bind a freed port and answer /healthz),
 * and the token stays valid for the next server on this DATA_DIR (same signing key) until it expires.
 */
function runningServerUrl(dataDir: string): string | undefined {
  let lock: DataDirLock | undefined;
  try {
    lock = lockDataDir(dataDir, 'cli', { create: false });
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    const details = error.details as { holder?: { role?: string }; url?: unknown } | undefined;
    return details?.holder?.role === 'server' && typeof details.url === 'string' ? details.url : undefined;
  }
  // Nobody holds it: no server runs on this DATA_DIR, whatever server-url still says.
  lock?.release();
  return undefined;
}

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1500) });
    // A server low on disk answers `degraded` (503) and still serves the operator.
    return res.ok || res.status === 503;
  } catch {
    return false;
  }
}

/**
 * `fetch`, and reading the answer, with a failed connection as one CliError naming the server: it answered
 * /healthz a moment ago (`reachable`) and may have stopped since, which ended the command with Node's stack
 * trace of `fetch failed`. A request that was sent may have been carried out; the message says to check.
 */
async function send<T>(
  server: string,
  path: string,
  init: RequestInit,
  read: (res: Response) => Promise<T>,
): Promise<T> {
  try {
    return await read(await fetch(server + path, init));
  } catch (error) {
    if (error instanceof CliError || !(error instanceof TypeError)) throw error;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? error.message;
    const maybeDone =
      (init.method ?? 'GET') === 'GET'
        ? ''
        : ' The request may have been carried out before it stopped: check before running it again.';
    throw new CliError(
      `The server at ${server} stopped answering (${why}); is it stopping or restarting?${maybeDone}`,
    );
  }
}

/** A 2xx body as JSON. @throws CliError naming the server when it is not JSON (a proxy's page, not Silopool) */
function jsonFrom<T>(server: string, status: number, text: string): T {
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    const shown = text.replace(/\s+/g, ' ').slice(0, 80);
    throw new CliError(
      `The server at ${server} answered ${status} with text that is not JSON ("${shown}"): is it Silopool?`,
    );
  }
}

function httpOperator(server: string, token: string): Operator {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return send(
      server,
      path,
      {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      async (res) => {
        const text = await res.text();
        if (!res.ok) throw problemError(res.status, text);
        return jsonFrom<T>(server, res.status, text);
      },
    );
  }
  return {
    mode: 'server',
    where: server,
    createTenant: (input) => call('POST', '/v1/admin/tenants', input),
    listTenants: async () => {
      const items: TenantJson[] = [];
      let cursor: string | undefined;
      do {
        const page = await call<{ items: TenantJson[]; nextCursor?: string }>(
          'GET',
          `/v1/admin/tenants?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return items;
    },
    getTenant: (id) => call('GET', `/v1/admin/tenants/${encodeURIComponent(id)}`),
    updateTenant: (id, patch) => call('PATCH', `/v1/admin/tenants/${encodeURIComponent(id)}`, patch),
    mintToken: async (claims) =>
      (await call<{ token: string }>('POST', '/v1/admin/tokens', { ...claims })).token,
    listApiKeys: async (id) =>
      (await call<{ items: ApiKeyView[] }>('GET', `/v1/admin/tenants/${encodeURIComponent(id)}/api-keys`))
        .items,
    issueApiKey: (id) => call('POST', `/v1/admin/tenants/${encodeURIComponent(id)}/api-keys`),
    revokeApiKey: (id, keyId) =>
      call('DELETE', `/v1/admin/tenants/${encodeURIComponent(id)}/api-keys/${encodeURIComponent(keyId)}`),
    rotateApiKey: (id, keyId, graceSeconds) =>
      call(
        'POST',
        `/v1/admin/tenants/${encodeURIComponent(id)}/api-keys/${encodeURIComponent(keyId)}/rotate`,
        { graceSeconds },
      ),
    moveTenant: (id, to) =>
      call('POST', `/v1/admin/tenants/${encodeURIComponent(id)}/placement`, { placement: to }),
    getOperation: (id) => call('GET', `/v1/admin/operations/${encodeURIComponent(id)}`),
    async offboardTenant(id) {
      const answer = await send(
        server,
        `/v1/admin/tenants/${encodeURIComponent(id)}/offboard`,
        { method: 'POST', headers: { authorization: `Bearer ${token}` } },
        async (res): Promise<{ zip: Uint8Array } | { started: { id: string } }> => {
          if (!res.ok) throw problemError(res.status, await res.text());
          // Servers before offboarding was an operation answered the zip itself.
          if (res.status !== 202) return { zip: new Uint8Array(await res.arrayBuffer()) };
          return { started: jsonFrom<{ id: string }>(server, res.status, await res.text()) };
        },
      );
      if ('zip' in answer) return answer.zip;
      // Offboarding is an operation (a tenant's stack takes minutes to delete on AWS): follow it, then
      // download its export.
      const { started } = answer;
      for (;;) {
        const current = await call<{ status: string; error?: { message: string } }>(
          'GET',
          `/v1/admin/operations/${encodeURIComponent(started.id)}`,
        );
        if (current.status === 'failed')
          throw new CliError(`Offboarding failed: ${current.error?.message ?? 'no reason given'}`);
        if (current.status === 'succeeded') break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      return send(
        server,
        `/v1/admin/operations/${encodeURIComponent(started.id)}/export`,
        { headers: { authorization: `Bearer ${token}` } },
        async (zip) => {
          if (!zip.ok) throw problemError(zip.status, await zip.text());
          return new Uint8Array(await zip.arrayBuffer());
        },
      );
    },
    request: (method, path, body) => call(method, path, body),
    close: async () => undefined,
  };
}

/** `silent`: the server address that did not answer just now, if any. */
async function directOperator(dataDir: string, silent?: string): Promise<Operator> {
  const existed = existsSync(dataDir);
  // The CLI may be the first to make DATA_DIR; it must be as private as the server makes it.
  await secureDataDir(dataDir);
  // Two writers of one DATA_DIR would each enforce limits and write files the other does not know of: the
  // CLI works on the data only while no server runs (and a server does not start while it does).
  let lock: DataDirLock;
  try {
    lock = lockDataDir(dataDir, 'cli', { create: true })!;
  } catch (error) {
    if (!(error instanceof DataDirInUseError)) throw error;
    // The server holding DATA_DIR was asked first and did not answer (stopping, stopped by a signal,
    // overloaded): telling the operator to reach it with --server, the address that failed, sent them round.
    const advice =
      (error.details?.holder as { role?: string } | undefined)?.role === 'cli'
        ? 'Try again when it has finished.'
        : silent !== undefined && error.details?.url === silent
          ? `It did not answer at ${silent} just now (stopping, paused or overloaded): try again in a moment; if it keeps not answering, stop it (the pid above) and run the command again.`
          : 'The CLI opens the data directly only while no server runs: reach the server with --server <url> (and --token), or try again when it has stopped.';
    throw new CliError(`${error.message} ${advice}`);
  }
  // Run in another folder than the server's, the CLI would otherwise answer from empty data of its own
  // ("not found", an empty list) with nothing saying why.
  if (!existed)
    process.stderr.write(
      `silopool: No server answers and there was no DATA_DIR at ${dataDir}: made a new, empty one. ` +
        'Run the CLI in the folder the server runs in, or point it there with DATA_DIR, --data-dir or --server.\n',
    );
  const platform = openEmbeddedPlatform(dataDir);
  const deps = { directory: platform.directory, queue: platform.queue, stores: platform.stores };
  const issuer = await loadEmbeddedIssuer(join(dataDir, 'keys', 'jwt-signing.jwk.json'));
  return {
    mode: 'data-dir',
    where: dataDir,
    billing: {
      directory: platform.directory,
      usage: platform.usage,
      billing: platform.billing,
      costs: costTableFromEnv('embedded'),
    },
    async createTenant(input) {
      // Recorded first, like the server's: the server's next start settles one this process left cut short.
      const record = recordOnboarding({ ...deps, operations: createSqliteOperationStore(platform.db) });
      const { tenant, apiKey } = await createTenant(deps, input, undefined, undefined, record);
      return { tenant: tenantView(tenant), apiKey };
    },
    async listTenants() {
      const items: TenantJson[] = [];
      let cursor: string | undefined;
      do {
        const page = await platform.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
        items.push(...page.items.map(tenantView));
        cursor = page.nextCursor;
      } while (cursor);
      return items;
    },
    async getTenant(id) {
      const tenant = await platform.directory.get(parseTenantId(id));
      if (!tenant) throw new CliError(`No tenant "${id}".`);
      return tenantView(tenant);
    },
    // With billing's items: a new tier is recorded as a plan change (control/plan-catalogue.ts).
    updateTenant: async (id, patch) =>
      tenantView(await updateTenant({ ...deps, billing: platform.billing }, parseTenantId(id), patch)),
    listApiKeys: (id) => listApiKeys(deps, parseTenantId(id)),
    issueApiKey: async (id) => ({ apiKey: (await issueApiKey(deps, parseTenantId(id))).apiKey }),
    revokeApiKey: (id, keyId) => revokeApiKey(deps, parseTenantId(id), keyId),
    rotateApiKey: (id, keyId, graceSeconds) => rotateApiKey(deps, parseTenantId(id), keyId, graceSeconds),
    mintToken: async (claims) =>
      (
        await mintUserToken(
          { directory: platform.directory, issuer, lifetimes: readTokenLifetimes(process.env) },
          claims,
          '',
        )
      ).token,
    moveTenant: async () => {
      throw new CliError(
        'Moving a tenant needs the running server (its functions drain the old lane); start it first.',
      );
    },
    getOperation: async (id) => {
      const op = await createSqliteOperationStore(platform.db).get(id);
      if (!op) throw new CliError(`No operation "${id}".`);
      return operationView(op);
    },
    // No server runs on this DATA_DIR (the lock says so): the operation runs here to its end; were this
    // process killed, the server resumes it when it starts.
    offboardTenant: async (id) =>
      (
        await offboardNow(
          {
            ...deps,
            usage: platform.usage,
            billing: platform.billing,
            operations: createSqliteOperationStore(platform.db),
            eraser: createEmbeddedTenantEraser(platform.db, dataDir, platform.jobsDb),
          },
          id,
        )
      ).zip,
    close: async () => {
      await platform.close();
      lock.release();
    },
  };
}
