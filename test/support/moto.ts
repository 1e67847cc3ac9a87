import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/**
 * moto's server (`moto_server`, Python, `pip install 'moto[server]==5.2.*'`): one faithful AWS emulator for
 * SQS, DynamoDB (with transactions), S3, CloudFormation, IAM with policy enforcement and STS session
 * policies. One per test file, on a free port; about 1–2 s to start.
 */
export interface Moto {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  stop(): Promise<void>;
}

let present: boolean | undefined;

/** Whether `moto_server` can run here; tests skip with MOTO_MISSING when it cannot. */
export function motoAvailable(): boolean {
  if (present === undefined) {
    try {
      execFileSync('moto_server', ['--help'], { stdio: 'ignore', timeout: 20_000 });
      present = true;
    } catch {
      present = false;
    }
  }
  return present;
}

export const MOTO_MISSING =
  "moto_server is not installed: `pip install 'moto[server]==5.2.*'` (.ci/run installs it when PyPI is reachable)";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts moto on a free port. `enforceIamAfter`: moto lets that many requests through unchecked (to set up
 * users, roles and resources), then enforces IAM on every request (`INITIAL_NO_AUTH_ACTION_COUNT`): action
 * and resource checks, not condition keys.
 */
export async function startMoto(options: { enforceIamAfter?: number } = {}): Promise<Moto> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, MOTO_PORT: String(port) };
  if (options.enforceIamAfter !== undefined)
    env.INITIAL_NO_AUTH_ACTION_COUNT = String(options.enforceIamAfter);
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${stderr}`);
    try {
      // moto's own dashboard API: answers once the server serves.
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto_server did not start on ${endpoint}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
