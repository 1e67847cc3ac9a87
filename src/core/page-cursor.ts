import { ValidationError } from './errors.ts';

/** The alphabet and most length of a cursor this codec makes (base64url of a small JSON object). */
const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,2048}$/;

/**
 * Every list's page cursor, on every adapter: the list it belongs to and the position after which the next
 * page starts, as base64url JSON. Opaque to clients; decoded only by `decodePageCursor`, which refuses
 * anything this did not make for that list (a junk cursor was taken as a position by some lists: the admin
 * tenant list answered a partial page, the merged job list of a moving tenant started over).
 */
export function encodePageCursor(list: string, position: string): string {
  return Buffer.from(JSON.stringify({ l: list, p: position }), 'utf8').toString('base64url');
}

/**
 * The position in a cursor of `list`, when `accept` (the list's own check of a position) agrees.
 * @throws ValidationError naming `/querystring/cursor` (400 problem+json) for anything else
 */
export function decodePageCursor(
  cursor: string,
  list: string,
  accept: (position: string) => boolean = (p) => p.length > 0,
): string {
  const decoded = parseCursor(cursor);
  if (decoded?.list !== list || !accept(decoded.position)) throw invalidCursor();
  return decoded.position;
}

/** The list a cursor of this codec names, or undefined for anything else. */
export function cursorList(cursor: string): string | undefined {
  return parseCursor(cursor)?.list;
}

export function invalidCursor(): ValidationError {
  return new ValidationError([
    {
      path: '/querystring/cursor',
      message: "must be the previous page's nextCursor, unchanged (or left out for the first page)",
      rule: 'cursor',
    },
  ]);
}

function parseCursor(cursor: string): { list: string; position: string } | undefined {
  if (typeof cursor !== 'string' || !CURSOR_TEXT.test(cursor)) return undefined;
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      l?: unknown;
      p?: unknown;
    };
    if (typeof value?.l !== 'string' || typeof value.p !== 'string') return undefined;
    return { list: value.l, position: value.p };
  } catch {
    return undefined;
  }
}
