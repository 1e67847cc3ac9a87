import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { childEnv } from '../../src/runtime/child-env.ts';
import { SPARE_ARGUMENT } from '../../src/runtime/child-protocol.ts';
import { forkPrebuilt } from '../../src/runtime/prebuilt.ts';
import { forkFunctionProcess } from '../../src/runtime/spare-processes.ts';

// Dedicated function processes and compute processes run a release's model code (a tenant's own variant
// among it), which can read its whole environment. They inherited the server's: the VAPID private key, AWS
// credentials, an OIDC client secret, any variable the operator set.
const SECRETS = {
  SILOPOOL_VAPID_PRIVATE_KEY: 'vapid-secret-value',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  OIDC_CLIENT_SECRET: 'oidc-secret-value',
  SOME_OPERATOR_TOKEN: 'operator-secret-value',
};
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const proc of procs.splice(0)) proc.kill('SIGKILL');
});

/** The environment process `pid` runs with, from /proc (what its code can read). */
const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );

/** Waits until `pid` runs its script (after the exec: before it, /proc shows the parent's environment). */
async function execed(pid: number, script: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(script)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} never ran ${script}`);
}

/** Forks with the server's environment holding SECRETS and the variables the child does need. */
async function forkWith(forkIt: () => ChildProcess, script: string): Promise<Record<string, string>> {
  const before = { ...process.env };
  Object.assign(process.env, SECRETS, {
    SILOPOOL_DURABILITY: 'power',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    LC_ALL: 'C.UTF-8',
  });
  try {
    const proc = forkIt();
    procs.push(proc);
    for (const name of Object.keys(process.env)) if (!(name in before)) delete process.env[name];
    Object.assign(process.env, before);
    await execed(proc.pid!, script);
    return environOf(proc.pid!);
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in before)) delete process.env[name];
    Object.assign(process.env, before);
  }
}

describe('the environment of processes that run model code', () => {
  it.each([
    [
      'a dedicated function process (a spare)',
      'function-process',
      () => forkFunctionProcess(SPARE_ARGUMENT, 512),
    ],
    [
      'a compute process',
      'compute-process',
      () =>
        forkPrebuilt('compute-process', { relative: './compute-process', base: import.meta.url }, [], {
          serialization: 'advanced',
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          detached: true,
        }),
    ],
  ])('%s holds none of the server’s secrets, and what it reads', async (_, script, forkIt) => {
    const env = await forkWith(forkIt, script);
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(env[name], name).toBeUndefined();
      expect(Object.values(env).join('\n')).not.toContain(value);
    }
    expect(env).toMatchObject({
      SILOPOOL_DURABILITY: 'power',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      LC_ALL: 'C.UTF-8',
      PATH: process.env.PATH,
    });
  });

  it('childEnv keeps by name and prefix only, and leaves its argument as it was', () => {
    const server = { PATH: '/bin', NODE_OPTIONS: '--enable-source-maps', SECRET: 's', LCX: 'no', TZ: 'UTC' };
    expect(childEnv(server)).toEqual({ PATH: '/bin', NODE_OPTIONS: '--enable-source-maps', TZ: 'UTC' });
    expect(server.SECRET).toBe('s');
  });
});
