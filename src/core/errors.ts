/** Base class of every error the platform raises on purpose; the API turns these into problem+json. */
export class SilopoolError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options?.details;
  }
}

/** One problem with one field of an input, named by its JSON path (`/input/discountRate`). */
export interface FieldProblem {
  path: string;
  message: string;
  rule?: string;
}

export class ValidationError extends SilopoolError {
  readonly problems: FieldProblem[];
  constructor(problems: FieldProblem[], message?: string) {
    super('validation_failed', 400, message ?? describeProblems(problems), { details: { errors: problems } });
    this.problems = problems;
  }
}

function describeProblems(problems: FieldProblem[]): string {
  const first = problems[0];
  if (!first) return 'The input is not valid.';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return `${first.path || '/'} ${first.message}${more}`;
}

/**
 * A tenant's stored settings fail the settings schema (changed behind the API, or written by an older
 * version): they are not used, so this tenant's requests that need them are refused and no other tenant
 * is affected. Each problem names a field (`/config/formatting/locale`).
 */
export class TenantSettingsError extends SilopoolError {
  readonly problems: FieldProblem[];
  constructor(tenantId: string, problems: FieldProblem[]) {
    super(
      'tenant_settings_invalid',
      503,
      `The settings of tenant ${tenantId} are not valid and are not used until an operator corrects them: ${problems
        .slice(0, 5)
        .map((p) => `${p.path} ${p.message}`)
        .join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
      { details: { tenantId, errors: problems } },
    );
    this.problems = problems;
  }
}

export class NotFoundError extends SilopoolError {
  constructor(what: string, options?: { cause?: unknown }) {
    super('not_found', 404, `${what} was not found.`, options);
  }
}

/** A page of the web app was asked for, but the app was never built (`npm install` builds it). */
export class WebAppNotBuiltError extends SilopoolError {
  constructor() {
    super(
      'web_app_not_built',
      404,
      'The web app is not built (web/dist is missing): run `npm run build:web`, then restart the server. The API (/v1, /docs) works meanwhile.',
    );
  }
}

/** A body in a media type, charset or content coding the API does not read (it reads UTF-8 JSON only). */
export class UnsupportedMediaTypeError extends SilopoolError {
  constructor(message: string) {
    super('unsupported_media_type', 415, message);
  }
}

export class ConflictError extends SilopoolError {
  constructor(
    message: string,
    code = 'conflict',
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, 409, message, options);
  }
}

/** A job status change the job state machine (core/job.ts) does not allow, e.g. a finished job run again. */
export class InvalidTransitionError extends ConflictError {
  readonly from: string;
  readonly to: string;
  constructor(from: string, to: string) {
    super(`A ${from} job cannot become ${to}.`, 'invalid_transition', { details: { from, to } });
    this.from = from;
    this.to = to;
  }
}

/**
 * A job recorded a model major version this worker does not run: another major version may give other
 * numbers for the same input, so the job fails rather than run on it.
 */
export class ModelVersionUnavailableError extends SilopoolError {
  constructor(model: string, recorded: string, available: string) {
    super(
      'model_version_unavailable',
      409,
      `The job was accepted for ${model} ${recorded}, but this worker runs ${model} ${available}: a different major version, which may give different numbers. Submit the job again to run it on ${available}.`,
      { details: { model, recorded, available } },
    );
  }
}

/**
 * A job's cost, estimated from its input, is above the tenant's per-job ceiling (`maxJobCost`): refused at
 * submit rather than let it hold a shared function. `problems` name the input fields the cost comes from.
 */
export class CostLimitExceededError extends SilopoolError {
  readonly problems: FieldProblem[];
  constructor(options: { model: string; cost: number; maxJobCost: number; problems: FieldProblem[] }) {
    const { model, cost, maxJobCost, problems } = options;
    const fields = problems.map((p) => p.path).join(', ');
    super(
      'cost_limit_exceeded',
      422,
      `This ${model} job would cost ${Math.ceil(cost).toLocaleString('en-US')} units, and this tenant's limit is ${maxJobCost.toLocaleString('en-US')} units per job (maxJobCost). The cost comes from ${fields}: lower them, or ask an operator for a higher limit.`,
      { details: { model, cost, maxJobCost, errors: problems } },
    );
    this.problems = problems;
  }
}

/** A compare-and-set write lost: the item changed (or did not exist) since it was read. */
export class ConditionFailedError extends SilopoolError {
  constructor(message = 'The item changed since it was read.', options?: { cause?: unknown }) {
    super('condition_failed', 409, message, options);
  }
}

export class UnauthorizedError extends SilopoolError {
  constructor(message = 'A valid bearer token or API key is required.', options?: { cause?: unknown }) {
    super('unauthorized', 401, message, options);
  }
}

export class ForbiddenError extends SilopoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('forbidden', 403, message, options);
  }
}

export class RateLimitedError extends SilopoolError {
  readonly retryAfterSec: number;
  /** Response headers that describe the limit (the IETF `RateLimit` and `RateLimit-Policy` fields). */
  readonly headers: Record<string, string>;
  constructor(
    message: string,
    retryAfterSec: number,
    details?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) {
    super('rate_limited', 429, message, details ? { details } : undefined);
    this.retryAfterSec = retryAfterSec;
    this.headers = headers;
  }
}

export class UnavailableError extends SilopoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', 503, message, options);
  }
}

/**
 * The stored pointer to the current release is damaged (changed outside Silopool): it names no release.
 * Answering the built-in release instead would quietly move every unpinned tenant to other code; so every
 * read fails, naming the file or item, until an operator fixes it or rolls a release out (which rewrites it).
 */
export class ReleasePointerError extends SilopoolError {
  constructor(where: string, problem: string) {
    super(
      'release_pointer_damaged',
      503,
      `The current release pointer ${where} is damaged: ${problem}. Fix or remove it (removed: the built-in release is current), or roll a release out, which rewrites it.`,
      { details: { where } },
    );
  }
}

/** File system error codes that say a path is there but is no readable folder or file (not a passing fault). */
const PATH_FAULT_CODES = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'ELOOP', 'ENAMETOOLONG']);

/** The `code` of a file system error that says a path cannot be read as it is, else undefined. */
export function pathFault(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PATH_FAULT_CODES.has(code) ? code : undefined;
}

/**
 * A folder or file the operator keeps for the platform (the releases folder and its pointer, the billing
 * export file) is there but cannot be read or written (`pathFault`: permissions, a file where a folder
 * belongs). Not "absent" (which can have a meaning: no release, the built-in one current), and no fault of the
 * request: 503 with a stable `code` (`releases_unreadable`, `billing_export_unwritable`), naming the path
 * (`details.path`, `details.errno`) and what to change, until an operator mends it.
 */
export class OperatorPathError extends SilopoolError {
  constructor(code: string, what: string, path: string, cause: unknown, access: 'read' | 'written' = 'read') {
    const errno = String((cause as { code?: unknown } | null)?.code ?? 'error');
    const kind = access === 'read' ? 'a folder' : 'a file';
    const change =
      errno === 'EACCES' || errno === 'EPERM'
        ? `give the server's user ${access === 'read' ? 'read and search' : 'write'} permission on it (chmod u+${access === 'read' ? 'rx' : 'w'} "${path}")`
        : errno === 'ENOTDIR'
          ? `a part of the path is a file, not a folder: move that file away${access === 'read' ? ` and make "${path}" a folder` : ''}`
          : errno === 'ENOENT'
            ? `its folder does not exist: create it, or set the path to one that does`
            : `make "${path}" ${kind} the server's user can use`;
    super(code, 503, `The ${what} ${path} cannot be ${access} (${errno}): ${change}.`, {
      cause,
      details: { path, errno },
    });
  }
}

/**
 * A dedicated tenant's own store does not exist: never provisioned, or removed by a demotion or an
 * offboarding while something still held it. Nothing was read or written, and nothing was created: a read
 * that made the store again would leave a folder that no later step removes. The tenant's requests are
 * routed anew when sent again.
 */
export class StoreNotFoundError extends SilopoolError {
  constructor(tenantId: string, options?: { cause?: unknown }) {
    super(
      'store_not_found',
      503,
      `The dedicated store of tenant ${tenantId} does not exist (it was not provisioned, or its placement changed); nothing was read or written. Try again.`,
      { ...options, details: { tenantId } },
    );
  }
}

/** A stored object does not read back as written (length or hash); the write is retried. */
export class CorruptWriteError extends SilopoolError {
  constructor(message: string) {
    super('corrupt_write', 500, message);
  }
}

/** Another process (a server, or the CLI working on the data directly) holds the DATA_DIR lock. */
export class DataDirInUseError extends SilopoolError {
  constructor(
    message: string,
    options: { dataDir: string; holder?: { role: string; pid: number }; url?: string; cause?: unknown },
  ) {
    const { cause, ...details } = options;
    super('data_dir_in_use', 409, message, { cause, details });
  }
}

/**
 * The disk (or a quota) is full: `ENOSPC`/`EDQUOT` from a file write, `SQLITE_FULL` from a database. The
 * request changed nothing and can be sent again once an operator frees space.
 */
export class StorageFullError extends SilopoolError {
  readonly retryAfterSec: number;
  constructor(retryAfterSec: number, options?: { cause?: unknown; message?: string }) {
    super(
      'storage_full',
      507,
      options?.message ??
        'The server has no free disk space to store this request; nothing was changed. Try again later.',
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.retryAfterSec = retryAfterSec;
  }
}

const STORAGE_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** Whether `error`, or an error it was caused by, says the disk or a quota is full. */
export function isStorageFull(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    if (STORAGE_FULL_CODES.has(String((e as { code?: unknown }).code))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A tenant's contract region cannot be honoured where it is (or would be) placed: 409 or 422; or a stored
 * record names something that is no AWS Region (`region_invalid`, 422), refused before any client is built.
 */
export class RegionError extends SilopoolError {
  constructor(
    code: 'region_requires_dedicated' | 'region_unavailable' | 'region_invalid',
    message: string,
    region: string,
  ) {
    super(code, code === 'region_requires_dedicated' ? 409 : 422, message, { details: { region } });
  }
}

/**
 * A setting from the environment is malformed or out of range (or names a file that cannot be read). The
 * server refuses to start with this one line, naming the variable, instead of a stack trace.
 */
export class ConfigError extends SilopoolError {
  readonly variable: string;
  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super('invalid_configuration', 500, message, { ...options, details: { variable } });
    this.variable = variable;
  }
}
