import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { problem } from './problem.ts';

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
  reply.code(body.status).type('application/problem+json').send(body);
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
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${body.status} ${STATUS_CODES[body.status]}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(json)}\r\n` +
      'Connection: close\r\n\r\n' +
      json,
  );
}
