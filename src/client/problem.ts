/** One field problem of an RFC 9457 problem document; `path` is a JSON pointer such as `/input/discountRate`. */
export interface FieldError {
  path: string;
  message: string;
  rule?: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: FieldError[];
}

/** Thrown for every non-2xx answer, so callers can show `detail` and the field `errors` instead of a blank page. */
export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ProblemError';
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string | undefined {
    return this.problem.code;
  }
}

/** Reads a failed response as a problem; a proxy's HTML error page or a network fault still yields one. */
export async function problemFrom(res: Response): Promise<ProblemError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && 'status' in body && 'title' in body) {
    return new ProblemError(body as Problem);
  }
  return new ProblemError({
    type: 'about:blank',
    title: res.statusText || `HTTP ${res.status}`,
    status: res.status,
    detail: text.slice(0, 300) || `The server answered ${res.status} ${res.statusText}.`,
  });
}

export function networkProblem(cause: unknown): ProblemError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ProblemError({
    type: 'about:blank',
    title: 'Network error',
    status: 0,
    detail: `The server could not be reached (${message}). Check your connection and try again.`,
    code: 'network_error',
  });
}
