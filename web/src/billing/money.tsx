import type { Statement } from '../../../src/client/index.ts';

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

/** A statement's lines as a table (both the console and the portal print it). */
export function StatementTable({ statement }: { statement: Statement }) {
  return (
    <div className="table-wrap">
      <table>
        <caption>
          Statement {statement.month} ({statement.status})
        </caption>
        <thead>
          <tr>
            <th scope="col">Line</th>
            <th scope="col">Days (UTC)</th>
            <th scope="col" className="num">
              Amount
            </th>
          </tr>
        </thead>
        <tbody>
          {statement.lines.map((l, i) => (
            // Lines have no id of their own; their order is fixed by the server.
            // biome-ignore lint/suspicious/noArrayIndexKey: a statement's lines never reorder
            <tr key={i}>
              <td>{l.description}</td>
              <td>
                {l.from} – {l.to}
              </td>
              <td className="num">{formatMoney(l.amount, statement.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colSpan={2}>
              Total
            </th>
            <td className="num">{formatMoney(statement.total, statement.currency)}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
