import type { Formatting } from '../../core/tenant.ts';
import { type Cell, type ChartSpec, colName, type Row, type SheetSpec, sheetRef } from '../xlsx/cells.ts';
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
      // NaN: no path has the figure (TVPI with nothing paid in), "n/a" as on the Summary.
      ...[d.mean, d.p5, d.p10, d.p25, d.p50, d.p75, d.p90, d.p95].map(
        (v): Cell => ({ v: Number.isFinite(v) ? v : 'n/a', s }),
      ),
    ]);
  }
  rows.push([
    { v: 'Paths without an IRR (counted as −100 % above)', s: 'label' },
    { v: sim.irr.pathsWithoutIrr, s: 'integer' },
  ]);
  const ref = (col: string) => `${sheetRef(sheetName)}!$${col}$${first + 1}:$${col}$${last}`;
  const fan = fanChart(res, sheetName, rows);
  return {
    name: sheetName,
    rows,
    cols: [12, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16],
    freeze: { rows: first, cols: 1 },
    charts: [
      fan,
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

const PERCENTILES = ['p5', 'p25', 'p50', 'p75', 'p95'] as const;

/**
 * The fan chart of the simulation: cumulative LP net cash flow at each year end, P5 … P95 over every
 * path. The percentiles are values (a simulation is not a formula); beside them the band widths the
 * stacked areas draw are formulas on them (base = P5, then P25 − P5, …, P95 − P75), and the median is a
 * line over the bands. Appends its table to `rows`.
 */
function fanChart(res: FundsResult, sheetName: string, rows: Row[]): ChartSpec {
  const fan = res.simulation!.cumulativeNetCashFlowFan;
  rows.push(
    [],
    [{ v: 'Cumulative LP net cash flow at each year end, over every path (the fan chart)', s: 'bold' }],
    ['Year', 'P5', 'P25', 'P50', 'P75', 'P95', 'Base (P5)', 'P5–P25', 'P25–P50', 'P50–P75', 'P75–P95'].map(
      (v): Cell => ({ v, s: 'colHeader' }),
    ),
  );
  const first = rows.length;
  for (const p of fan) {
    const r = rows.length + 1;
    const values = PERCENTILES.map((k) => p[k]);
    rows.push([
      { v: p.year, s: 'colHeader' },
      ...values.map((v): Cell => ({ v, s: 'money' })),
      { f: `B${r}`, v: p.p5, s: 'money' },
      ...[1, 2, 3, 4].map(
        (i): Cell => ({
          f: `${colName(i + 1)}${r}-${colName(i)}${r}`,
          v: values[i]! - values[i - 1]!,
          s: 'money',
        }),
      ),
    ]);
  }
  const last = rows.length;
  const column = (col: number) =>
    `${sheetRef(sheetName)}!$${colName(col)}$${first + 1}:$${colName(col)}$${last}`;
  const width = (i: number) => fan.map((p) => p[PERCENTILES[i]!] - p[PERCENTILES[i - 1]!]);
  const bands: [string, number, number[]][] = [
    ['P5–P25', 0.35, width(1)],
    ['P25–P50', 0.7, width(2)],
    ['P50–P75', 0.7, width(3)],
    ['P75–P95', 0.35, width(4)],
  ];
  return {
    kind: 'fan',
    title: 'Cumulative LP net cash flow: P5–P95 fan, median line',
    categoriesRef: column(0),
    categories: fan.map((p) => p.year),
    series: [
      { name: 'Base (P5)', ref: column(6), values: fan.map((p) => p.p5), invisible: true },
      ...bands.map(([name, opacity, values], i) => ({
        name,
        ref: column(7 + i),
        values,
        color: '1F4E79',
        opacity,
      })),
    ],
    lines: [{ name: 'Median (P50)', ref: column(3), values: fan.map((p) => p.p50), color: 'C55A11' }],
    from: { col: 0, row: last + 1 },
    to: { col: 9, row: last + 22 },
  };
}
