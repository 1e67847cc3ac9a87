import { decodeJobMessage } from '../core/messages.ts';
import { jobLimitsFor } from '../core/tenant.ts';
import { models } from '../models/registry.ts';
import { inputPointer } from '../models/schema-paths.ts';
import { failJob, jobStoreOf, type SettleDeps, settled } from './dead-letter-settler.ts';

/** The error code of a job stopped at its time limit on a shared function. Never redriven or retried. */
export const TIMED_OUT = 'timeout';

/**
 * Fails the job of a message from `source` whose run passed its time limit (its thread is already gone):
 * `failed` with code `timeout`, announced like any final commit. Not retried: a model run is deterministic,
 * so the same input would run as long again. Returns true when the message is done with (the job is
 * settled now, had ended, or is gone), false when the job never started in that run (it is `queued`, e.g.
 * the second message of a batch), so its message goes back to be run. Compare-and-set, so a late commit
 * of the stopped run (impossible once the thread is gone) or a second settle changes nothing.
 */
export async function settleTimedOut(deps: SettleDeps, source: string, body: string): Promise<boolean> {
  const message = decodeJobMessage(body);
  if (!message) return true;
  const tenant = await deps.directory.get(message.tenantId);
  if (!tenant) return true;
  const jobs = await jobStoreOf(deps, tenant, message.jobId, source);
  const { jobTimeoutSec } = jobLimitsFor(tenant, message.model);
  const model = Object.hasOwn(models, message.model) ? models[message.model] : undefined;
  const fields = (model?.costFields ?? []).map(inputPointer);
  const failed = await failJob(
    jobs,
    message.jobId,
    {
      code: TIMED_OUT,
      message:
        `The job ran past its time limit of ${jobTimeoutSec} s and was stopped. The model is deterministic: ` +
        'the same input would run as long again, so it is not retried. ' +
        (fields.length > 0 ? `Its run time grows with ${fields.join(', ')}: lower them, or ask` : 'Ask') +
        ' an operator for a longer limit (jobTimeoutSec) or dedicated placement.',
    },
    (job) => job.status === 'running',
    // The platform stopped it at its limit: billed up to the limit, as it ran that long.
    jobTimeoutSec * 1000,
  );
  if (failed === 'skipped') return false;
  if (failed !== 'terminal' && failed !== 'gone') await settled(deps, tenant, failed, jobs);
  return true;
}
