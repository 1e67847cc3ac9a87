import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';

const run = promisify(execFile);
const claimer = fileURLToPath(new URL('./queue-claimer.ts', import.meta.url));
const sender = fileURLToPath(new URL('./queue-sender.ts', import.meta.url));

describe('embedded queue shared by several processes', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('never hands the same message to two processes within its visibility timeout', async () => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-mp-'));
    const path = join(dir, 'silopool.db');
    const db = openDatabase(path);
    const queue = createSqliteMessageQueue(db);
    await queue.createQueue('shared_finance', { visibilityTimeoutSec: 120 });
    const sent = new Set<string>();
    for (let batch = 0; batch < 100; batch++) {
      const ids = await queue.sendBatch(
        'shared_finance',
        Array.from({ length: 100 }, (_, i) => ({ body: `${batch}:${i}`, groupId: `t-${i % 7}` })),
      );
      for (const { messageId } of ids) sent.add(messageId);
    }

    const barrier = join(dir, 'barrier');
    mkdirSync(barrier);
    const children = [1, 2, 3].map(() =>
      run(process.execPath, ['--import', 'tsx', claimer, path, 'shared_finance', barrier], {
        maxBuffer: 16 << 20,
      }),
    );
    while (readdirSync(barrier).filter((f) => f.startsWith('ready-')).length < children.length)
      await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(join(barrier, 'go'), '');
    const results = (await Promise.all(children)).map((r) => JSON.parse(r.stdout) as string[]);
    const all = results.flat();

    expect(results.every((claimed) => claimed.length > 0)).toBe(true);
    expect(all).toHaveLength(sent.size);
    expect(new Set(all)).toEqual(sent);
    const depth = await queue.depth('shared_finance');
    expect(depth.visible).toBe(0);
    db.close();
  });

  it('keeps every acknowledged send when the sending process is killed with SIGKILL', async () => {
    dir = mkdtempSync(join(tmpdir(), 'silopool-kill-'));
    const path = join(dir, 'silopool.db');
    const db = openDatabase(path);
    const queue = createSqliteMessageQueue(db);
    await queue.createQueue('shared_finance', { visibilityTimeoutSec: 60 });

    const child = spawn(process.execPath, ['--import', 'tsx', sender, path, 'shared_finance'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: string[] = [];
    let partial = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop()!;
        acked.push(...lines);
        if (acked.length >= 300 && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));

    const stored = new Set<string>();
    for (let got = await queue.receive('shared_finance', { maxMessages: 10 }); got.length > 0; ) {
      for (const m of got) stored.add(m.body);
      got = await queue.receive('shared_finance', { maxMessages: 10 });
    }
    expect(acked.filter((body) => !stored.has(body))).toEqual([]);
    db.close();
  });
});
