import type { Formatting } from '../../core/tenant.ts';
import { type Cell, type Row, type SheetSpec, sheetRef } from '../xlsx/cells.ts';
import { headerRows } from '../xlsx/layout.ts';
import { type FundsResult, periodLabels } from './run.ts';

/** Monte Carlo results as values (a simulation is not a formula); bands charted over time. */
export function simulationSheet(res: FundsResult, sheetName: string, formatting: Formatting): SheetSpec {
  const sim = res.simulation!;
  const rows: Row[] = [...headerRows(formatting, 'Monte Carlo simulation', 8), []];
  rows.push([
    {
      v: `${sim.paths} paths, seed ${sim.seed}. Values, not formulas: re-run the job to change them.`,
      s: 'note',
    },
  ]);
  rows.push(
    ['Period', 'LP NAV P10', 'LP NAV P50', 'LP NAV P90', 'Net CF P10', 'Net CF P50', 'Net CF P90'].map(
      (v): Cell => ({ v, s: 'colHeader' }),
    ),
  );
  const labels = periodLabels(res);
  const first = rows.length;
  sim.nav.forEach((b, i) => {
    const cf = sim.netCashFlow[i]!;
    rows.push([
      { v: labels[i]!, s: 'colHeader' },
      ...[b.p10, b.p50, b.p90, cf.p10, cf.p50, cf.p90].map((v): Cell => ({ v, s: 'money' })),
    ]);
  });
  const last = rows.length;
  rows.push([]);
  rows.push(
    ['', 'Mean', 'P5', 'P10', 'P25', 'P50', 'P75', 'P90', 'P95'].map((v): Cell => ({ v, s: 'colHeader' })),
  );
  for (const [label, d, s] of [
    ['TVPI', sim.tvpi, 'number'],
    ['Net IRR', sim.irr, 'percent'],
  ] as const) {
    rows.push([
      { v: label, s: 'bold' },
      ...[d.mean, d.p5, d.p10, d.p25, d.p50, d.p75, d.p90, d.p95].map((v): Cell => ({ v, s })),
    ]);
  }
  rows.push([
    { v: 'Paths without an IRR (counted as −100 % above)', s: 'label' },
    { v: sim.irr.pathsWithoutIrr, s: 'integer' },
  ]);
  const ref = (col: string) => `${sheetRef(sheetName)}!$${col}$${first + 1}:$${col}$${last}`;
  return {
    name: sheetName,
    rows,
    cols: [12, 16, 16, 16, 16, 16, 16, 16, 16],
    freeze: { rows: first, cols: 1 },
    charts: [
      {
        kind: 'line',
        title: 'LP NAV: P10 / P50 / P90',
        categoriesRef: ref('A'),
        categories: labels,
        series: [
          { name: 'P10', ref: ref('B'), values: sim.nav.map((b) => b.p10) },
          { name: 'P50', ref: ref('C'), values: sim.nav.map((b) => b.p50) },
          { name: 'P90', ref: ref('D'), values: sim.nav.map((b) => b.p90) },
        ],
        from: { col: 8, row: first },
        to: { col: 18, row: first + 20 },
      },
    ],
  };
}
