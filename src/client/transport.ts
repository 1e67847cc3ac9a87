import { networkProblem, problemFrom } from './problem.ts';

export interface ClientOptions {
  /** Origin of the API, e.g. `http://localhost:3000`; empty means the page's own origin. */
  baseUrl?: string;
  /** A JWT or a tenant API key; a function is read on every request so a refreshed token is used. */
  token?: string | (() => string | undefined);
  /** Sent as `x-tenant-id`; selects one of the tenants the token grants. */
  tenantId?: string;
  fetch?: typeof fetch;
}

export type Query = Record<string, string | number | undefined>;

/**
 * HTTP to the Silopool API: credentials and tenant headers on every request, JSON in and out, and
 * non-2xx answers as `ProblemError` (RFC 9457); network failures as a problem too, aborts as they are.
 */
export class ApiTransport {
  readonly options: ClientOptions;

  constructor(options: ClientOptions = {}) {
    this.options = options;
  }

  protected async json<T>(
    method: string,
    path: string,
    init: { body?: unknown; query?: Query; headers?: Record<string, string> | undefined } = {},
  ): Promise<T> {
    const res = await this.send(method, path + queryString(init.query), {
      headers: { accept: 'application/json', ...init.headers },
      body: init.body,
    });
    if (!res.ok) throw await problemFrom(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }

  protected async send(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: unknown; signal?: AbortSignal | undefined } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    const token = typeof this.options.token === 'function' ? this.options.token() : this.options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (this.options.tenantId) headers['x-tenant-id'] = this.options.tenantId;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const doFetch = this.options.fetch ?? globalThis.fetch.bind(globalThis);
    try {
      return await doFetch(`${this.options.baseUrl ?? ''}${path}`, {
        method,
        headers,
        body: init.body === undefined ? null : JSON.stringify(init.body),
        signal: init.signal ?? null,
      });
    } catch (cause) {
      if (cause instanceof Error && cause.name === 'AbortError') throw cause;
      throw networkProblem(cause);
    }
  }
}

/** A path segment, percent-encoded. */
export function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Reads `filename*=UTF-8''…` (RFC 6266, preferred) or `filename="…"`. */
export function fileNameFrom(header: string | null): string | undefined {
  if (!header) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // A malformed escape falls through to the plain parameter.
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(header);
  return plain?.[1]?.trim();
}
