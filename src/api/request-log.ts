import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Fastify's request log lines, one per request instead of two: no `incoming request` line, and the
 * `request completed` (or `request errored`) line carries the request (method, URL, host, client address
 * and port) beside the status and `responseTime` (ms). Fastify's other lines (error handler, stream errors,
 * not found, write-head errors) are unchanged. At `LOG_LEVEL=info` the two lines cost a submit more CPU
 * than its validation and admission together: pino serializes each and writes each to stdout with its own
 * `write` (docs/benchmarks.md, "Session 6").
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    if (error) {
      reply.log.error(
        { req: request, res: reply, err: error, responseTime: reply.elapsedTime },
        'request errored',
      );
    } else {
      reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
    }
  }
}
