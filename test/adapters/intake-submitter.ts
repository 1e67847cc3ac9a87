// Child process of embedded-job-intake-crash.test.ts: submits jobs through the embedded intake of a data
// folder, printing each accepted job id, and kills itself with SIGKILL the moment the `stop`-th submit is
// accepted: after its commit, before its outbox row can reach the queue.

import type { TenantId } from '../../src/core/ids.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { makeJob, makeTenant } from '../contract/fixtures.ts';

const [dataDir, tenantId, stop] = process.argv.slice(2);
const platform = openEmbeddedPlatform(dataDir!);
const tenant = makeTenant(tenantId as TenantId);
const queue = sharedQueueName('finance');
for (let i = 1; ; i++) {
  const job = makeJob(tenant.id);
  // Several submits in one turn: the first commits alone, the rest together, as under HTTP load.
  const batch = [job, makeJob(tenant.id), makeJob(tenant.id)];
  await Promise.all(
    batch.map((j) =>
      platform.intake.submit(tenant, {
        job: j,
        queue,
        message: { body: j.id, groupId: tenant.id, dedupId: j.id },
      }),
    ),
  );
  process.stdout.write(`${batch.map((j) => j.id).join('\n')}\n`);
  if (i >= Number(stop)) process.kill(process.pid, 'SIGKILL');
}
