const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

export function escapeXml(s: string): string {
  // Control characters other than tab/newline are not allowed in XML 1.0 at all.
  return s.replace(/[^\t\n\r\u0020-\uffff]/g, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
}

/** A number as Excel writes it: shortest round-trip form; non-finite values have no cell value. */
export function xmlNumber(n: number): string {
  return String(n);
}
