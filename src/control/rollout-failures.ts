import { OperatorPathError, SilopoolError } from '../core/errors.ts';
import type { OperationStore } from '../ports/operation-store.ts';
import { requireOperation, setOperationParams } from './operations.ts';

/** File system errors no retry mends: the releases folder removed or made read-only, a path gone bad. */
const PERMANENT_FS_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS']);

/** AWS errors of the client's fault that a retry can mend (throttling, a lost race). */
const RETRYABLE_AWS =
  /Throttl|TooManyRequests|RequestLimitExceeded|ProvisionedThroughput|ConditionalCheckFailed|TransactionConflict/;

/**
 * Why an upgrade's driver cannot succeed by being driven again, or undefined when it may (a store, network
 * or CloudWatch hiccup, a lost race). Permanent: a refusal of the platform's own (a 4xx SilopoolError other
 * than a conflict or a rate limit), a damaged operation record (its params are not JSON), a file system
 * error on the releases folder, an AWS request refused as the client's fault (access denied, an invalid
 * template). Driven again, such an upgrade looped forever and refused every later one.
 */
export function permanentRolloutFailure(error: unknown): string | undefined {
  const message = (error as Error)?.message ?? String(error);
  // A folder made unreadable is a 503 to a client (it may be mended), but no retry of the driver mends it.
  if (error instanceof OperatorPathError) return `${error.code}: ${message}`;
  if (error instanceof SilopoolError) {
    const retryable = error.status === 409 || error.status === 429 || error.status >= 500;
    return retryable ? undefined : `${error.code}: ${message}`;
  }
  if (error instanceof SyntaxError) return `the operation's record is damaged: ${message}`;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && PERMANENT_FS_CODES.has(code)) return message;
  const aws = error as { $fault?: unknown; $retryable?: unknown; name?: unknown };
  if (aws?.$fault === 'client' && !aws.$retryable && !RETRYABLE_AWS.test(String(aws.name)))
    return `${String(aws.name)}: ${message}`;
  return undefined;
}

/**
 * Counts a failure of an upgrade's driver in its operation (so across processes and Lambda runs); answers
 * why to stop when `maxFailures` (default 20) are reached, else undefined.
 */
export async function countFailure(
  deps: { operations: OperationStore; maxFailures?: number },
  id: string,
  error: unknown,
): Promise<string | undefined> {
  try {
    const failures = Number((await requireOperation(deps.operations, id)).params.failures ?? 0) + 1;
    await setOperationParams(deps.operations, id, { failures: String(failures) });
    const max = deps.maxFailures ?? 20;
    if (failures < max) return undefined;
    return `it failed ${failures} times in a row; the last: ${(error as Error)?.message ?? String(error)}`;
  } catch {
    return undefined; // the store itself failing: a hiccup until it has lasted `maxFailures` counted tries
  }
}
