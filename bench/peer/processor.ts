import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SandboxedJob } from 'bullmq';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

// The peer's BullMQ sandboxed processor (bundled by esbuild at bench start, run in BullMQ's worker
// threads): the same model and renderer as Silopool's function threads; the workbook is written to
// disk like Silopool's embedded object store (no fsync: the same process-crash durability class), and
// the summary is the job's return value, which BullMQ stores in Redis.
const model = getModel('finance');

export default async function process(job: SandboxedJob): Promise<Record<string, unknown>> {
  const { tenantId, input, dir } = job.data as { tenantId: string; input: unknown; dir: string };
  const { effectiveInput } = resolveInput(model, {}, input);
  const result = model.run(effectiveInput as never, {});
  const summary = model.summary(result, {});
  const bytes = await model.workbook(result, effectiveInput as never, {});
  const folder = join(dir, tenantId);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${job.id}.xlsx`), bytes);
  return summary;
}
