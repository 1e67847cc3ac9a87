import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

// The durable floor's function thread (bench/floor.ts): its own connection to the one database file;
// per job one claim commit (the message hidden for 5 minutes and the job marked running, together) and
// one completion commit (the workbook as a row, the job's outcome, the message deleted, together). The
// same model and renderer as Silopool's function threads and the plain loop.
const { path } = workerData as { path: string };
const db = new Database(path, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
const model = getModel('finance');
const stmt = {
  next: db.prepare<[number], { id: number; job_id: string }>(
    'SELECT id, job_id FROM messages WHERE visible_at <= ? ORDER BY id LIMIT 1',
  ),
  hide: db.prepare('UPDATE messages SET visible_at = ? WHERE id = ?'),
  running: db.prepare<[number, string], { input: string }>(
    "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ? RETURNING input",
  ),
  artifact: db.prepare('INSERT INTO artifacts (key, body) VALUES (?, ?)'),
  finished: db.prepare("UPDATE jobs SET status = 'succeeded', summary = ?, finished_at = ? WHERE id = ?"),
  remove: db.prepare('DELETE FROM messages WHERE id = ?'),
};
const claim = db.transaction((now: number) => {
  const message = stmt.next.get(now);
  if (!message) return undefined;
  stmt.hide.run(now + 300_000, message.id);
  const job = stmt.running.get(now, message.job_id)!;
  return { messageId: message.id, jobId: message.job_id, input: JSON.parse(job.input) as unknown };
});
const complete = db.transaction(
  (messageId: number, jobId: string, workbook: Uint8Array, summary: string, now: number) => {
    stmt.artifact.run(`jobs/${jobId}/workbook.xlsx`, workbook);
    stmt.finished.run(summary, now, jobId);
    stmt.remove.run(messageId);
  },
);

async function drain(): Promise<void> {
  for (;;) {
    const claimed = claim.immediate(Date.now());
    if (!claimed) return;
    const { effectiveInput } = resolveInput(model, {}, claimed.input);
    const result = model.run(effectiveInput as never, {});
    const summary = JSON.stringify(model.summary(result, {}));
    const workbook = await model.workbook(result, effectiveInput as never, {});
    complete.immediate(claimed.messageId, claimed.jobId, workbook, summary, Date.now());
    parentPort!.postMessage(claimed.jobId);
  }
}

// 'wake' after a submit's commit; 'idle' back once no message is visible.
parentPort!.on('message', () => {
  drain().then(
    () => parentPort!.postMessage({ idle: true }),
    (error: unknown) => parentPort!.postMessage({ error: String(error) }),
  );
});
parentPort!.postMessage({ idle: true });
