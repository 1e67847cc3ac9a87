import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LoadResult } from './support.ts';

const run = promisify(execFile);

/** wrk from Debian when present (installed on first use if apt can), else undefined. */
export function findWrk(): string | undefined {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      if (attempt === 0) {
        try {
          execFileSync('sh', ['-c', 'apt-get install -y -qq wrk >/dev/null 2>&1'], { stdio: 'ignore' });
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/** One wrk run (2 threads, `connections` connections) with a Lua script carrying method, headers, body. */
export async function wrkLoad(
  wrk: string,
  spec: {
    url: string;
    method: string;
    headers?: Record<string, string>;
    body?: string;
    connections: number;
    durationMs: number;
  },
): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-wrk-'));
  try {
    const script = join(dir, 'req.lua');
    const headers = Object.entries(spec.headers ?? {})
      .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
      .join('\n');
    writeFileSync(
      script,
      `wrk.method = ${JSON.stringify(spec.method)}\n${headers}\n${spec.body ? `wrk.body = ${JSON.stringify(spec.body)}` : ''}\n`,
    );
    const { stdout } = await run(wrk, [
      '-t2',
      `-c${spec.connections}`,
      `-d${Math.round(spec.durationMs / 1000)}s`,
      '--latency',
      '-s',
      script,
      spec.url,
    ]);
    const perSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN);
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? Number.NaN);
    const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
    const p50 = toMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '');
    const p99 = toMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '');
    return { requests, errors, perSec, p50, p99 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
