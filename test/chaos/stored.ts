import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';

/** A job record as the store holds it (the fields the checker reads). */
export interface StoredJob {
  id: string;
  tenantId: string;
  status: string;
  idempotencyKey?: string;
  artifacts: { name: string; sha256: string; size: number }[];
  error?: { code: string; message: string };
  attempts: number;
}

export interface StoredTenantData {
  /** Where each record was found: `shared` (jobs.sqlite) or `dedicated` (tenants/{id}/jobs.sqlite). */
  jobs: { store: 'shared' | 'dedicated'; job: StoredJob }[];
  /** Idempotency-Key → the job it is bound to, from the IDEM# items. */
  keys: Map<string, string>;
}

function readItems(path: string): { pk: string; sk: string; doc: string }[] {
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT pk, sk, doc FROM job_items').all() as { pk: string; sk: string; doc: string }[];
  } finally {
    db.close();
  }
}

/** Every job item of DATA_DIR read from the SQLite files directly, by tenant. */
export function readStoredJobs(dataDir: string): Map<string, StoredTenantData> {
  const out = new Map<string, StoredTenantData>();
  const add = (store: 'shared' | 'dedicated', path: string) => {
    for (const item of readItems(path)) {
      const tenantId = item.pk.slice('T#'.length);
      let data = out.get(tenantId);
      if (!data) {
        data = { jobs: [], keys: new Map() };
        out.set(tenantId, data);
      }
      const doc = JSON.parse(item.doc) as Record<string, unknown>;
      if (item.sk.startsWith('JOB#')) data.jobs.push({ store, job: doc as unknown as StoredJob });
      else if (item.sk.startsWith('IDEM#')) data.keys.set(String(doc.key), String(doc.jobId));
    }
  };
  add('shared', join(dataDir, 'jobs.sqlite'));
  const tenantsDir = join(dataDir, 'tenants');
  if (existsSync(tenantsDir)) {
    for (const id of readdirSync(tenantsDir)) add('dedicated', join(tenantsDir, id, 'jobs.sqlite'));
  }
  return out;
}

/** Messages of the given queues whose body names `jobId` (webhook notifications carry it). */
export function messagesNaming(dataDir: string, queues: string[], jobIds: string[]): Map<string, string[]> {
  const db = new Database(join(dataDir, 'silopool.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(`SELECT queue, body FROM messages WHERE queue IN (${queues.map(() => '?').join(',')})`)
      .all(...queues) as { queue: string; body: string }[];
    const found = new Map<string, string[]>();
    for (const row of rows) {
      const jobId = (JSON.parse(row.body) as { jobId?: string }).jobId;
      if (jobId && jobIds.includes(jobId)) found.set(jobId, [...(found.get(jobId) ?? []), row.queue]);
    }
    return found;
  } finally {
    db.close();
  }
}

export interface ObjectFile {
  /** Path below DATA_DIR; a row is `{database}:{key}` (e.g. `jobs.sqlite:tenants/t/jobs/j_…/workbook.xlsx`). */
  path: string;
  /** The job whose artifact this is; empty for a temp file (its name is random). */
  jobId: string;
  /** A temp file (`~t`) left by a write that never finished. */
  temp: boolean;
}

function objectRows(dataDir: string, database: string): ObjectFile[] {
  const path = join(dataDir, database);
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const keys = db.prepare('SELECT key FROM objects').pluck().all() as string[];
    return keys.map((key) => ({
      path: `${database}:${key}`,
      jobId: /(?:^|\/)jobs\/(j_[0-9a-z]{26})\//.exec(key)?.[1] ?? `(no job: ${key})`,
      temp: false,
    }));
  } finally {
    db.close();
  }
}

/**
 * Every stored object of every job below DATA_DIR: rows of the shared `jobs.sqlite` and each dedicated
 * tenant's (objects up to 1 MiB), and files of the shared `objects/` and each tenant's (larger objects, and
 * those written before session 8).
 */
export function objectFiles(dataDir: string): ObjectFile[] {
  const out: ObjectFile[] = [...objectRows(dataDir, 'jobs.sqlite')];
  const tenantsDir = join(dataDir, 'tenants');
  if (existsSync(tenantsDir)) {
    for (const id of readdirSync(tenantsDir))
      out.push(...objectRows(dataDir, join('tenants', id, 'jobs.sqlite')));
  }
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const rel = relative(dataDir, path);
        // `jobs/{id}~{name}~o`, or `jobs/{id}/{name}~o` as data directories before session 7 hold them;
        // a temp file's name is random, so it names no job.
        const object = /(?:^|\/)jobs\/(j_[0-9a-z]{26})[/~][^/~]+~o$/.exec(rel);
        if (object) out.push({ path: rel, jobId: object[1]!, temp: false });
        else if (/(?:^|\/)jobs\/(?:[^/]+\/)?[^/]+~t$/.test(rel))
          out.push({ path: rel, jobId: '', temp: true });
      }
    }
  };
  for (const root of [join(dataDir, 'objects'), join(dataDir, 'tenants')]) if (existsSync(root)) walk(root);
  return out;
}
