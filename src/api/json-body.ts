import type { FastifyInstance } from 'fastify';
import { UnsupportedMediaTypeError, ValidationError } from '../core/errors.ts';
import { FORBIDDEN_SEGMENTS, pointerSegment } from '../models/schema-paths.ts';

/** Deepest nesting of arrays and objects a request body may have; real inputs stay below 10. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether JSON text nests arrays or objects deeper than `max`, by one linear scan of the text (strings
 * skipped): run before parsing, so no parser, clone or validator ever recurses through a hostile body.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Replaces Fastify's JSON parser with one that first refuses bodies nested deeper than `maxDepth` (400)
 * and then parses as Fastify does (secure-json-parse, refusing `__proto__` and `constructor.prototype`),
 * naming the forbidden key's path when that is why a body was refused.
 */
export function guardJsonBodies(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    const unreadable = unreadableEncoding(request.headers);
    if (unreadable) {
      done(new UnsupportedMediaTypeError(unreadable), undefined);
      return;
    }
    if (nestsDeeperThan(text, maxDepth)) {
      done(
        new ValidationError([
          { path: '/body', message: `nests deeper than ${maxDepth} levels`, rule: 'maxDepth' },
        ]),
        undefined,
      );
      return;
    }
    parse(request, text, (error, value) => {
      const forbidden = error ? forbiddenKeyPath(text) : undefined;
      if (forbidden) {
        done(
          new ValidationError([{ path: forbidden, message: 'is a key that is never accepted', rule: 'key' }]),
        );
      } else done(error, value);
    });
  });
}

/**
 * Why a JSON body cannot be read as sent, or undefined: JSON is UTF-8 (RFC 8259 §8.1), so another
 * `charset` would be decoded wrongly, and a `Content-Encoding` (gzip, br) is not decoded here at all.
 */
function unreadableEncoding(headers: Record<string, string | string[] | undefined>): string | undefined {
  const coding = String(headers['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (coding !== 'identity') return `Content-Encoding ${coding} is not accepted; send the JSON body as is.`;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(headers['content-type'] ?? ''))?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) return `charset ${charset} is not accepted; JSON is UTF-8.`;
  return undefined;
}

/** The path of the first `__proto__`, `constructor` or `prototype` key in valid JSON text, if any. */
function forbiddenKeyPath(text: string): string | undefined {
  let value: unknown;
  try {
    // JSON.parse makes every key an own data property, `__proto__` included: safe to walk.
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const walk = (v: unknown, path: string): string | undefined => {
    if (v === null || typeof v !== 'object') return undefined;
    for (const [key, child] of Object.entries(v)) {
      const at = `${path}/${pointerSegment(key)}`;
      if (FORBIDDEN_SEGMENTS.has(key)) return at;
      const found = walk(child, at);
      if (found) return found;
    }
    return undefined;
  };
  return walk(value, '/body');
}
