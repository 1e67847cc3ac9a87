// Worker thread of embedded-queue-wake.test.ts: long-polls a queue on its own connection, as a function
// thread does, with a poll interval far longer than the test, so only a wake from another thread ends it.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';

const { dbPath, queueName } = workerData as { dbPath: string; queueName: string };
const db = openDatabase(dbPath);
const queue = createSqliteMessageQueue(db, { pollIntervalMs: 600_000 });
parentPort!.on('message', async () => {
  const started = Date.now();
  // receive() counts the poll and makes its first (empty) claim before it first waits: "polling" is
  // posted after both.
  const received = queue.receive(queueName, { maxMessages: 1, waitTimeSec: 20 });
  parentPort!.postMessage({ polling: true });
  const got = await received;
  for (const m of got) await queue.delete(queueName, m.receiptHandle);
  parentPort!.postMessage({ bodies: got.map((m) => m.body), ms: Date.now() - started });
});
parentPort!.postMessage({ ready: true });
