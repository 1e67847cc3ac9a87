import { parentPort, workerData } from 'node:worker_threads';

// The end-to-end bench's load generator, on a thread of its own: HTTP clients are real CPU work, and on
// the platform's event loop they would compete with the API they measure (the API bench runs wrk in
// its own process for the same reason). Started once per platform run; each message `{ jobs }`
// submits that many jobs (`concurrency` at a time) and answers 'sent'.
const { url, apiKey, body, concurrency } = workerData as {
  url: string;
  apiKey: string;
  body: string;
  concurrency: number;
};

async function submit(jobs: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs) {
        next++;
        const res = await fetch(`${url}/v1/models/finance/jobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body,
        });
        if (res.status !== 202) throw new Error(`submit: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
    }),
  );
}

parentPort!.on('message', (message: { jobs: number }) => {
  submit(message.jobs).then(
    () => parentPort!.postMessage('sent'),
    (error: unknown) => parentPort!.postMessage(`error: ${String(error)}`),
  );
});
parentPort!.postMessage('ready');
