import { SilopoolError } from '../core/errors.ts';

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
