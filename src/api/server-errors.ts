import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { problem } from './problem.ts';

/**
 * Headers of the answers written before Fastify's hooks (and so helmet) run: nothing in them may load
 * anything, be framed or be sniffed as another type.
 */
export const PRE_ROUTE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Errors Fastify's router raises before any route or hook runs (a URL whose percent-encoding is not
 * UTF-8, a path parameter past `maxParamLength`), answered as problem+json with a stable code rather
 * than Fastify's own JSON shape.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const body =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? problem(414, 'uri_too_long', 'A path segment of the URL is longer than the server accepts.')
      : error.code === 'FST_ERR_BAD_URL'
        ? problem(400, 'bad_url', 'The URL is not valid: its percent-encoding does not decode to UTF-8.')
        : problem(400, 'bad_request', 'The request could not be routed.');
  request.log.info({ code: body.code, status: body.status }, body.detail);
  // `instance` is left out: the URL is exactly what could not be read.
  reply.code(body.status).headers(PRE_ROUTE_HEADERS).type('application/problem+json').send(body);
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers over `maxHeaderSize` → 431,
 * a malformed request line or header → 400, a request that took too long to arrive → 408). Node closes
 * the connection after these; we write one minimal problem+json response first.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const body =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problem(431, 'headers_too_large', 'The request line or headers are larger than the server accepts.')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problem(408, 'request_timeout', 'The request did not arrive in time.')
        : problem(400, 'malformed_request', 'The request is not valid HTTP/1.1.');
  if (!socket.writable) {
    socket.destroy(error);
    return;
  }
  socket.end(rawProblem(body));
}

/** A whole HTTP/1.1 response carrying `body`, for the places that write to the socket themselves. */
function rawProblem(body: ReturnType<typeof problem>): string {
  const json = JSON.stringify(body);
  const headers = Object.entries(PRE_ROUTE_HEADERS)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return (
    `HTTP/1.1 ${body.status} ${STATUS_CODES[body.status]}\r\n` +
    'Content-Type: application/problem+json\r\n' +
    headers +
    `Content-Length: ${Buffer.byteLength(json)}\r\n` +
    'Connection: close\r\n\r\n' +
    json
  );
}

/**
 * Requests Node's HTTP server would answer itself with an empty body, or not at all: an `Expect` other
 * than `100-continue` (417) and `CONNECT` (the API is not a proxy: 405). Both become problem+json.
 */
export function answerUnroutedRequests(server: Server): void {
  server.on('checkExpectation', (_request: IncomingMessage, response: ServerResponse) => {
    const json = JSON.stringify(
      problem(417, 'expectation_failed', 'The server meets no `Expect` but `100-continue`.'),
    );
    response.writeHead(417, {
      ...PRE_ROUTE_HEADERS,
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(json),
      connection: 'close',
    });
    response.end(json);
  });
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    socket.end(rawProblem(problem(405, 'method_not_allowed', 'CONNECT is not served: this is not a proxy.')));
  });
}
