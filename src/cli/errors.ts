import { SilopoolError } from '../core/errors.ts';

/** An RFC 9457 problem as the server sends it (`application/problem+json`), or as near as a body gets. */
export interface ProblemJson {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

/** A failure the CLI reports in words (and, with `--json`, as `problem`); exit code 1. */
export class CliError extends Error {
  readonly problem: ProblemJson | undefined;
  constructor(message: string, options?: { problem?: ProblemJson }) {
    super(message);
    this.problem = options?.problem;
  }
}

/** A failed response as a CliError carrying its problem: the server's words, never its raw JSON. */
export function problemError(status: number, body: string): CliError {
  let problem: ProblemJson;
  try {
    const parsed = JSON.parse(body) as unknown;
    problem = typeof parsed === 'object' && parsed !== null ? (parsed as ProblemJson) : { detail: body };
  } catch {
    problem = { detail: body.slice(0, 500) };
  }
  problem.status ??= status;
  problem.title ??= `The server answered ${status}`;
  return new CliError(describeProblem(problem), { problem });
}

/**
 * A problem in lines a person reads: title, detail, then each bad field (`/expiresIn: must be …`).
 * Title and detail often say the same; it is said once.
 */
export function describeProblem(problem: ProblemJson): string {
  const first = problem.errors?.[0];
  // A detail that only restates the first field (`/body/growth must be >= 1`) is said once, in the list.
  const restates = first !== undefined && problem.detail === `${first.path} ${first.message}`;
  const head = [problem.title, restates ? undefined : problem.detail]
    .filter((x): x is string => Boolean(x))
    .filter((x, i, all) => i === 0 || !all[0]!.includes(x));
  const fields = (problem.errors ?? []).map((e) => `\n  ${e.path || '/'}: ${e.message}`).join('');
  return `${head.join(': ')}${fields}`;
}

/** The problem an error stands for, for `--json` output (on stderr, beside the exit code). */
export function problemOf(error: CliError | SilopoolError): ProblemJson {
  if (error instanceof SilopoolError) {
    const errors = error.details?.errors;
    // A field list says it all; its one-line summary would repeat the first field.
    return Array.isArray(errors) && errors.length > 0
      ? { code: error.code, status: error.status, title: 'The input is not valid', errors }
      : { code: error.code, status: error.status, title: error.message };
  }
  return error.problem ?? { title: error.message };
}

/** What a file system error code means to the person who named the file. */
const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENAMETOOLONG: 'a name in the path is longer than the file system takes',
  EEXIST: 'it exists already',
  ENOSPC: 'the disk is full',
  EROFS: 'the file system is read-only',
};

/**
 * A file the command was told to read or write (`apply tenants.yaml`, `--export acme.zip`, a plans file)
 * that could not be used, as one line naming the path and why, instead of Node's stack trace.
 * Undefined for anything that is not such an error (Node's `SystemError`: `code` and `path`).
 */
export function fileError(error: unknown): CliError | undefined {
  const { code, path } = (error ?? {}) as { code?: unknown; path?: unknown };
  if (typeof code !== 'string' || typeof path !== 'string' || !(code in FILE_PROBLEMS)) return undefined;
  return new CliError(`Cannot use ${path}: ${FILE_PROBLEMS[code]} (${code}).`, {
    problem: { code: code.toLowerCase(), title: `Cannot use ${path}: ${FILE_PROBLEMS[code]}` },
  });
}
