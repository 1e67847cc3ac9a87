import type { ReactNode } from 'react';
import { TableFrame } from './TableFrame.tsx';

export interface Column<T> {
  /** Header text; a column with an empty visible header names itself to screen readers by `header`. */
  header: string;
  /** Shows only to screen readers (an actions column). */
  hiddenHeader?: boolean;
  /** Right-aligned figures. */
  num?: boolean;
  /** Class of the body cells (e.g. `actions`). */
  className?: string;
  cell(row: T): ReactNode;
}

/**
 * A data table in its scrolling frame (TableFrame): one header row from `columns`, one body row per item
 * keyed by `rowKey`, an optional footer. The caption is read out always and shown only when `caption`
 * is given; otherwise `label` serves as both.
 */
export function DataTable<T>({
  label,
  caption,
  columns,
  rows,
  rowKey,
  footer,
  className,
  rowClassName,
}: {
  label: string;
  caption?: ReactNode;
  columns: Column<T>[];
  rows: readonly T[];
  /** A row's React key; the index only for rows that never reorder. */
  rowKey(row: T, index: number): string;
  footer?: ReactNode;
  className?: string;
  /** A row's class (e.g. `warn` for a failed span). */
  rowClassName?(row: T): string | undefined;
}) {
  return (
    <TableFrame label={label}>
      <table className={className}>
        {caption === undefined ? (
          <caption className="sr-only">{label}</caption>
        ) : (
          <caption>{caption}</caption>
        )}
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.header} scope="col" className={c.num ? 'num' : undefined}>
                {c.hiddenHeader ? <span className="sr-only">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={rowKey(row, index)} className={rowClassName?.(row)}>
              {columns.map((c) => (
                <td key={c.header} className={c.num ? 'num' : c.className}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
        {footer ? <tfoot>{footer}</tfoot> : null}
      </table>
    </TableFrame>
  );
}
