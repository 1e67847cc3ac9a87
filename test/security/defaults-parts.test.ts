import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { secureDataDir, writePrivateFile } from '../../src/adapters/embedded/data-dir.ts';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createEventStreams } from '../../src/api/event-streams.ts';
import { contentSecurityPolicy } from '../../src/api/security-headers.ts';
import type { JobId } from '../../src/core/ids.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { trustProxyOf } from '../../src/entry/config.ts';
import { createJobEvents } from '../../src/runtime/job-events.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-parts-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const modeOf = (path: string) => lstatSync(path).mode & 0o777;

describe('private files', () => {
  it('a database made under a permissive umask is 0600 with its WAL and shared memory', () => {
    const dir = tempDir();
    const previous = process.umask(0o022);
    try {
      const db = openDatabase(join(dir, 'sub', 'x.sqlite'));
      db.exec('CREATE TABLE t (a); INSERT INTO t VALUES (1)');
      expect(modeOf(join(dir, 'sub'))).toBe(0o700);
      for (const name of ['x.sqlite', 'x.sqlite-wal', 'x.sqlite-shm'])
        expect(modeOf(join(dir, 'sub', name))).toBe(0o600);
      db.close();
    } finally {
      process.umask(previous);
    }
  });

  it('writePrivateFile narrows a file that existed with a wider mode', async () => {
    const path = join(tempDir(), 'operator-token');
    writeFileSync(path, 'old', { mode: 0o644 });
    await writePrivateFile(path, 'new');
    expect(modeOf(path)).toBe(0o600);
  });

  it('fixing a DATA_DIR does not follow a symbolic link out of it', async () => {
    const outside = join(tempDir(), 'elsewhere.txt');
    writeFileSync(outside, 'not ours', { mode: 0o644 });
    const dataDir = tempDir();
    chmodSync(dataDir, 0o755);
    symlinkSync(outside, join(dataDir, 'link'));
    await secureDataDir(dataDir);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(outside)).toBe(0o644);
  });

  it('a missing DATA_DIR is created 0700', async () => {
    const dataDir = join(tempDir(), 'new', 'data');
    const previous = process.umask(0o022);
    try {
      await secureDataDir(dataDir);
    } finally {
      process.umask(previous);
    }
    expect(modeOf(dataDir)).toBe(0o700);
    mkdirSync(join(dataDir, 'x'));
  });
});

describe('SILOPOOL_TRUST_PROXY', () => {
  it('trusts nothing unless set', () => {
    expect(trustProxyOf({})).toBe(false);
    expect(trustProxyOf({ SILOPOOL_TRUST_PROXY: '' })).toBe(false);
    expect(trustProxyOf({ SILOPOOL_TRUST_PROXY: 'false' })).toBe(false);
  });

  it('takes a hop count or addresses and CIDR ranges', () => {
    expect(trustProxyOf({ SILOPOOL_TRUST_PROXY: '2' })).toBe(2);
    expect(trustProxyOf({ SILOPOOL_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1,loopback' })).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'loopback',
    ]);
  });

  it('refuses "true" and anything that is not an address', () => {
    expect(() => trustProxyOf({ SILOPOOL_TRUST_PROXY: 'true' })).toThrow(/hop count/);
    expect(() => trustProxyOf({ SILOPOOL_TRUST_PROXY: '10.0.0.0/8,proxy.internal' })).toThrow(
      /proxy\.internal/,
    );
  });
});

describe('Content-Security-Policy', () => {
  it("allows scripts from the app's origin only: no inline script, no eval", () => {
    expect(contentSecurityPolicy({ mode: 'embedded' })['script-src']).toEqual(["'self'"]);
    expect(contentSecurityPolicy({ mode: 'embedded' })['script-src-attr']).toEqual(["'none'"]);
  });

  it("allows fetching the OIDC token endpoint's origin only when OIDC login is configured", () => {
    expect(contentSecurityPolicy({ mode: 'embedded' })['connect-src']).toEqual(["'self'"]);
    const oidc = contentSecurityPolicy({
      mode: 'oidc',
      oidc: {
        issuer: 'https://id.example.com',
        clientId: 'c',
        authorizationEndpoint: 'https://id.example.com/authorize',
        tokenEndpoint: 'https://tokens.example.com:8443/oauth2/token',
        scope: 'openid',
      },
    });
    expect(oidc['connect-src']).toEqual(["'self'", 'https://tokens.example.com:8443']);
  });
});

describe('event streams of one process', () => {
  const job = (tenantId: string, version: number): JobRecord =>
    makeJob(randomTenantId(), {
      tenantId: tenantId as JobRecord['tenantId'],
      id: 'j_streamtest' as JobId,
      version,
    });

  it('without a poll, changes come from the in-process events and nothing is re-read', () => {
    const events = createJobEvents();
    const streams = createEventStreams(events, { pollMs: 0 });
    let reads = 0;
    const seen: number[] = [];
    const tenant = randomTenantId();
    streams.watch(
      tenant,
      'j_streamtest',
      async () => {
        reads++;
        return undefined;
      },
      (j) => seen.push(j.version),
    );
    events.publish(job(tenant, 2));
    events.publish(job(randomTenantId(), 3));
    expect(seen).toEqual([2]);
    expect(reads).toBe(0);
    streams.close();
  });

  it('with a poll, one re-read per job per tick serves every stream watching it', async () => {
    const streams = createEventStreams(createJobEvents(), { pollMs: 20 });
    const tenant = randomTenantId();
    let reads = 0;
    const read = async () => {
      reads++;
      return job(tenant, 5);
    };
    const seen: number[][] = [[], [], []];
    const stops = seen.map((list) =>
      streams.watch(tenant, 'j_streamtest', read, (j) => list.push(j.version)),
    );
    await expect.poll(() => seen.every((list) => list.length >= 2)).toBe(true);
    // Every stream heard each tick, and the job was read once per tick, not once per stream.
    expect(reads).toBeLessThanOrEqual(Math.min(...seen.map((l) => l.length)) + 1);
    for (const stop of stops) stop();
    const after = reads;
    await new Promise((r) => setTimeout(r, 80));
    expect(reads).toBe(after);
  });

  it("counts slots per tenant; a release frees one; another tenant's slots are its own", () => {
    const streams = createEventStreams(createJobEvents(), { maxPerTenant: 1 });
    const release = streams.open('a1', () => undefined);
    expect(() => streams.open('a1', () => undefined)).toThrow(/limit is 1/);
    expect(() => streams.open('a1-x', () => undefined)).not.toThrow();
    release();
    release();
    expect(() => streams.open('a1', () => undefined)).not.toThrow();
  });

  it('closing ends every open stream', () => {
    const streams = createEventStreams(createJobEvents());
    const ended: string[] = [];
    streams.open('t1', () => ended.push('t1'));
    streams.open('t2', () => ended.push('t2'));
    streams.close();
    expect(ended.sort()).toEqual(['t1', 't2']);
  });
});
