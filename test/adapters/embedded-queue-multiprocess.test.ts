import { execFile } from 'node:child_process';
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
    while (readdirSync(barrier).length < children.length)
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
});
