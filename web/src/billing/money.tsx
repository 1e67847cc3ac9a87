import type { Statement, StatementLine } from '../../../src/client/index.ts';
import { type Column, DataTable } from '../ui/DataTable.tsx';

const DIGITS: Record<string, number> = { JPY: 0 };

/** Minor units as money text in the currency (cents → `$1,234.56`). */
export function formatMoney(minor: number | null | undefined, currency = 'USD'): string {
  if (minor === null || minor === undefined) return '–';
  const digits = DIGITS[currency] ?? 2;
  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minor / 10 ** digits);
}

export const METER_LABELS: Record<string, string> = {
  jobs: 'Jobs',
  compute_mb_ms: 'Compute (GB-s)',
  mc_paths: 'Monte Carlo paths',
  storage_byte_days: 'Storage (GB-days)',
  api_requests: 'API requests',
  dedicated_lane_hours: 'Dedicated lane hours',
};

/** A meter's quantity in the unit people read: GB-seconds, GB-days, counts. */
export function meterValue(meter: string, quantity: number): string {
  if (meter === 'compute_mb_ms')
    return (quantity / 1024 / 1000).toLocaleString('en-US', { maximumFractionDigits: 1 });
  if (meter === 'storage_byte_days')
    return (quantity / 1024 ** 3).toLocaleString('en-US', { maximumFractionDigits: 3 });
  return quantity.toLocaleString('en-US');
}

const LINE_COLUMNS = (currency: string): Column<StatementLine>[] => [
  { header: 'Line', cell: (l) => l.description },
  {
    header: 'Days (UTC)',
    cell: (l) => (
      <>
        {l.from} – {l.to}
      </>
    ),
  },
  { header: 'Amount', num: true, cell: (l) => formatMoney(l.amount, currency) },
];

/** A statement's lines as a table (both the console and the portal print it). */
export function StatementTable({ statement }: { statement: Statement }) {
  const caption = `Statement ${statement.month} (${statement.status})`;
  return (
    <DataTable
      label={caption}
      caption={caption}
      columns={LINE_COLUMNS(statement.currency)}
      rows={statement.lines}
      // Lines have no id of their own; their order is fixed by the server and never changes.
      rowKey={(_, i) => String(i)}
      footer={
        <tr>
          <th scope="row" colSpan={2}>
            Total
          </th>
          <td className="num">{formatMoney(statement.total, statement.currency)}</td>
        </tr>
      }
    />
  );
}
