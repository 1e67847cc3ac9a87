import { parentPort, workerData } from 'node:worker_threads';

// The peer comparison's load generator, on its own thread (as in the e2e bench): `concurrency` HTTP
// clients submit `{ jobs }` jobs and answer with each job's id and the wall-clock instant its submit
// began (performance.timeOrigin + now(), comparable across threads), for submit-to-done latency.
const { url, apiKey, body, concurrency } = workerData as {
  url: string;
  apiKey: string;
  body: string;
  concurrency: number;
};

async function submit(jobs: number): Promise<[string, number][]> {
  const started: [string, number][] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs) {
        next++;
        const at = performance.timeOrigin + performance.now();
        const res = await fetch(`${url}/v1/models/finance/jobs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body,
        });
        const text = await res.text();
        if (res.status !== 202) throw new Error(`submit: ${res.status} ${text}`);
        started.push([(JSON.parse(text) as { id: string }).id, at]);
      }
    }),
  );
  return started;
}

parentPort!.on('message', (message: { jobs: number }) => {
  submit(message.jobs).then(
    (started) => parentPort!.postMessage({ started }),
    (error: unknown) => parentPort!.postMessage({ error: String(error) }),
  );
});
parentPort!.postMessage({ ready: true });
