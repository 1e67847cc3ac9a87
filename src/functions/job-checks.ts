import { ModelVersionUnavailableError, SilopoolError, TenantSettingsError } from '../core/errors.ts';
import { type JobRecord, majorVersion } from '../core/job.ts';
import type { Tenant } from '../core/tenant.ts';
import { listModels } from '../models/registry.ts';
import type { ModelDefinition } from '../models/types.ts';
import { formattingProblems } from '../models/xlsx/formatting-checks.ts';

export class PoisonMessageError extends SilopoolError {
  constructor(messageId: string) {
    super('poison_message', 400, `Message ${messageId} is not a job message.`);
  }
}

/** The job's recorded major version must be the one installed: another major may give other numbers. */
export function checkModelVersion(model: ModelDefinition, job: JobRecord): void {
  if (majorVersion(job.modelVersion) !== majorVersion(model.version)) {
    throw new ModelVersionUnavailableError(model.name, job.modelVersion, model.version);
  }
}

/** Stored formatting that fails the settings schema is not used: the job fails saying which field and why. */
export function checkFormatting(tenant: Tenant): void {
  const problems = formattingProblems(
    tenant.config?.formatting ?? {},
    listModels().map((m) => m.sheetNames),
  );
  if (problems.length > 0) {
    throw new TenantSettingsError(
      tenant.id,
      problems.map((p) => ({ ...p, path: `/config/formatting${p.path}` })),
    );
  }
}

/** Errors that come from the model, its input or the job's record, not from the platform: retrying cannot help. */
export function isModelError(error: unknown): boolean {
  if (error instanceof TenantSettingsError) return true;
  if (error instanceof SilopoolError) return error.status >= 400 && error.status < 500;
  return error instanceof RangeError || error instanceof TypeError;
}
