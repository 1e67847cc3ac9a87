// Child process of embedded-queue-multiprocess.test.ts: claims until the queue has nothing visible.

import { existsSync, readdirSync, writeFileSync } from 'node:fs';
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
let first = true;
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
  if (first) {
    // Every claimer holds a batch before any goes on: the claims that follow overlap for certain. Without
    // this second barrier a claimer descheduled for ~100 ms on a loaded machine found the queue drained by
    // the others (CI), and the test could not tell exclusive claims from claims that never met.
    first = false;
    writeFileSync(join(barrierDir!, `first-${process.pid}`), '');
    const all = () => readdirSync(barrierDir!);
    const count = (prefix: string) => all().filter((f) => f.startsWith(prefix)).length;
    // Bounded: a claimer that never got a batch must fail the test's check, not hang it.
    const until = Date.now() + 20_000;
    while (count('first-') < count('ready-') && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
db.close();
process.stdout.write(JSON.stringify(claimed));
