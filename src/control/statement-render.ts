import { currencyOf, formatMinor } from '../core/money.ts';
import type { Statement, TenantStatement } from '../core/statement.ts';

/** RFC 4180 field: quoted when it holds a comma, quote or line break; a leading = + - @ is defused for spreadsheets. */
function csvField(value: string | number | null | undefined): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A statement as CSV: one row per line, then the total, and the cost and margin rows when the statement
 * carries them (an operator's; a tenant's has none to print); amounts in major units.
 */
export function statementCsv(st: TenantStatement | Statement): string {
  const c = currencyOf(st.currency);
  const rows: (string | number | null | undefined)[][] = [
    [
      'tenant',
      'month',
      'kind',
      'plan',
      'meter',
      'from',
      'to',
      'quantity',
      'included',
      'overage',
      'description',
      `amount_${st.currency}`,
    ],
  ];
  for (const l of st.lines)
    rows.push([
      st.tenantId,
      st.month,
      l.kind,
      l.planId,
      l.meter,
      l.from,
      l.to,
      l.quantity,
      l.included,
      l.overage,
      l.description,
      formatMinor(l.amount, c),
    ]);
  // Summary rows leave the line columns (plan … overage) empty and put their note in `description`.
  const summary = (kind: string, note: string, amount: string) =>
    rows.push([st.tenantId, st.month, kind, '', '', '', '', '', '', '', note, amount]);
  summary('total', st.status, formatMinor(st.total, c));
  // A tenant's own statement carries neither the platform's cost nor the margin (billing-tenant.ts).
  if ('cost' in st) summary('cost', 'USD', formatMinor(st.cost, currencyOf('USD')));
  if ('margin' in st && st.margin !== null) summary('margin', 'USD', formatMinor(st.margin, c));
  return `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!,
  );

/** A printable statement page: self-contained HTML, no scripts, print styles inline (the CSP allows no more). */
export function statementHtml(st: TenantStatement, tenantName: string = st.tenantId): string {
  const c = currencyOf(st.currency);
  const money = (minor: number) => `${escapeHtml(formatMinor(minor, c))} ${st.currency}`;
  const rows = st.lines
    .map(
      (l) =>
        `<tr><td>${escapeHtml(l.description)}</td><td>${escapeHtml(l.from)} – ${escapeHtml(l.to)}</td><td class="n">${l.overage ?? l.quantity ?? ''}</td><td class="n">${money(l.amount)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Statement ${escapeHtml(st.month)} — ${escapeHtml(tenantName)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem auto;max-width:48rem;padding:0 1rem;color:#111}
table{width:100%;border-collapse:collapse}td,th{padding:.35rem .5rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.n{text-align:right;white-space:nowrap}tfoot td{font-weight:600}
@media print{body{margin:0}a{color:inherit}}
</style></head><body>
<h1>Statement ${escapeHtml(st.month)}</h1>
<p>${escapeHtml(tenantName)} (${escapeHtml(st.tenantId)}) · ${st.status === 'closed' ? `closed ${escapeHtml(st.closedAt ?? '')}` : 'open: this month so far'} · amounts in ${st.currency}</p>
<table><thead><tr><th>Line</th><th>Days (UTC)</th><th class="n">Billed units</th><th class="n">Amount</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><td colspan="3">Total</td><td class="n">${money(st.total)}</td></tr></tfoot></table>
</body></html>
`;
}
