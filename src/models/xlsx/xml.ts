const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/**
 * What XML 1.0 forbids (§2.2 Char): C0 controls other than tab, LF and CR, U+FFFE, U+FFFF and lone
 * surrogates (the `u` flag makes a lone surrogate one code point the class does not allow).
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text that needs no rewriting: tab, LF, CR and printable ASCII other than `"&'<>` (most cells and formulas). */
const XML_SAFE = /^[\t\n\r\u0020\u0021\u0023-\u0025\u0028-\u003B\u003D\u003F-\u007E]*$/;

/** What escaping rewrites, in one pass: the five XML metacharacters and the characters XML forbids. */
const XML_REWRITE = /[&<>"']|[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function escapeXml(s: string): string {
  // Render time is mostly this function (measured: docs/benchmarks.md, Models): skip the regex rewrite
  // for the common case, and rewrite everything else in a single pass.
  if (XML_SAFE.test(s)) return s;
  return s.replace(XML_REWRITE, (c) => XML_ESCAPES[c] ?? '');
}

/** Excel's limit on the text of one cell, in UTF-16 code units. */
export const MAX_CELL_TEXT = 32_767;

/** Plain printable ASCII (plus tab and LF) without `_x`: the common case, which needs no rewriting. */
const PLAIN = /^[\t\n\u0020-\u007E]*$/;

/**
 * A cell's text as the SpreadsheetML string it must be (ECMA-376 Part 1, §22.9.2.19 ST_Xstring):
 * characters XML cannot carry are dropped; a literal `_xHHHH_` is written `_x005F_xHHHH_` so a reader
 * does not decode it; CR is written `_x000D_`, since XML parsers turn a raw CR into LF; and the text is
 * cut to Excel's 32,767 UTF-16 units, never inside a surrogate pair. Returns the XML-escaped form.
 */
export function cellText(s: string): string {
  if (s.length <= MAX_CELL_TEXT && PLAIN.test(s) && !s.includes('_x')) return escapeXml(s);
  return escapeXml(
    truncateText(s.replace(NOT_XML_CHAR, ''))
      .replace(/_(x[0-9A-Fa-f]{4}_)/g, '_x005F_$1')
      .replace(/\r/g, '_x000D_'),
  );
}

/** The first 32,767 UTF-16 units of `s`, one fewer when the cut would split a surrogate pair. */
export function truncateText(s: string): string {
  if (s.length <= MAX_CELL_TEXT) return s;
  const last = s.charCodeAt(MAX_CELL_TEXT - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? MAX_CELL_TEXT - 1 : MAX_CELL_TEXT);
}

/** A number as Excel writes it: shortest round-trip form; non-finite values have no cell value. */
export function xmlNumber(n: number): string {
  return String(n);
}
