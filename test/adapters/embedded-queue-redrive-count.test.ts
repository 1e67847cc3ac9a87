import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-redrive-count-'));
const db = openDatabase(join(dir, 'q.sqlite'));
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A queue whose redrive policy moves a message after 0 receives dead-letters it before anyone receives it:
 * SQS refuses such a policy (1 to 1,000), and so does the embedded queue, whichever way the count came in.
 */
describe('the dead-letter redrive count', () => {
  const queue = createSqliteMessageQueue(db, { pollIntervalMs: 10 });

  it.each([0, -1, 1001, 2.5, Number.NaN])('maxReceiveCount %s is refused', async (count) => {
    await expect(
      queue.createQueue('lane', {
        visibilityTimeoutSec: 30,
        maxReceiveCount: count,
        deadLetterQueue: 'lane-dlq',
      }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('1 delivers a message once before it is dead-lettered', async () => {
    await queue.createQueue('once', {
      visibilityTimeoutSec: 0,
      maxReceiveCount: 1,
      deadLetterQueue: 'once-dlq',
    });
    await queue.send('once', { body: 'm' });
    expect((await queue.receive('once', { maxMessages: 1 })).map((m) => m.body)).toEqual(['m']);
    expect(await queue.receive('once', { maxMessages: 1 })).toEqual([]);
    expect((await queue.receive('once-dlq', { maxMessages: 1 })).map((m) => m.body)).toEqual(['m']);
  });

  it('the server does not start with SILOPOOL_MAX_RECEIVES=0, and says why', async () => {
    const started: TestServer | unknown = await startTestServer({
      env: { SILOPOOL_MAX_RECEIVES: '0' },
    }).catch((e: unknown) => e);
    if (!(started instanceof Error)) await (started as TestServer).stop();
    expect(String(started)).toMatch(/SILOPOOL_MAX_RECEIVES must be a whole number from 1 to 1000/);
  });
});
