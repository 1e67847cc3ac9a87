// Child process of embedded-queue-multiprocess.test.ts: claims until the queue has nothing visible.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';

const [dbPath, queueName, barrierDir] = process.argv.slice(2);
// Open first, then start together: tell the parent we are ready to claim, then wait for its go (a child
// still opening the database when the others start could find the queue already drained on a busy machine).
const db = openDatabase(dbPath!);
const queue = createSqliteMessageQueue(db);
writeFileSync(join(barrierDir!, `ready-${process.pid}`), '');
while (!existsSync(join(barrierDir!, 'go'))) await new Promise((resolve) => setTimeout(resolve, 2));
const claimed: string[] = [];
let empty = 0;
while (empty < 3) {
  const batch = await queue.receive(queueName!, { maxMessages: 10, visibilityTimeoutSec: 120 });
  if (batch.length === 0) {
    empty++;
    continue;
  }
  empty = 0;
  for (const [i, m] of batch.entries()) {
    claimed.push(m.messageId);
    // Delete half: deletes and claims then contend for the write lock from both processes.
    if (i % 2 === 0) await queue.delete(queueName!, m.receiptHandle);
  }
}
db.close();
process.stdout.write(JSON.stringify(claimed));
