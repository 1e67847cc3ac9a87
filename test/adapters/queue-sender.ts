// Child process of embedded-queue-multiprocess.test.ts: sends forever, printing each acknowledged body.
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteMessageQueue } from '../../src/adapters/embedded/message-queue.ts';

const [dbPath, queueName] = process.argv.slice(2);
const queue = createSqliteMessageQueue(openDatabase(dbPath!));
for (let i = 0; ; i++) {
  await queue.send(queueName!, { body: `m${i}`, groupId: `t-${i % 3}` });
  // The ack goes out only after the send resolved, that is after COMMIT: what "202 Accepted" relies on.
  process.stdout.write(`m${i}\n`);
}
