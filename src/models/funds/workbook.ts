import type { Formatting } from '../../core/tenant.ts';
import type { JsonSchema, Provenance } from '../types.ts';
import { type Cell, colName, type Row, type SheetSpec, sheetRef, type WorkbookSpec } from '../xlsx/cells.ts';
import { checksSheet } from '../xlsx/checks.ts';
import { workbookProperties } from '../xlsx/doc-props.ts';
import { headerRows, inputsSheetRows, logoImages, sheetNamer, warningRows } from '../xlsx/layout.ts';
import { formattingForCurrency } from '../xlsx/styles.ts';
import { writeXlsx } from '../xlsx/writer.ts';
import { CARRY_LOSS_SLACK, type FundsResult, grossFlows } from './run.ts';
import { type FundsInput, fundsSchema } from './schema.ts';
import { type FlowRefs, fundsChecks } from './workbook-checks.ts';
import { cashFlowColumns, troughPeriod } from './workbook-columns.ts';
import { fundsInputRows } from './workbook-inputs.ts';
import { irrSolverRows } from './workbook-irr.ts';
import { simulationSheet } from './workbook-simulation.ts';

/** The workbook's sheets by their default names, which a tenant's `formatting.sheetNames` may rename. */
export const FUNDS_SHEETS = ['Inputs', 'Cash flows', 'Summary', 'Simulation', 'Checks'] as const;

const TITLE = 'Fund cash-flow projection';
/** The most periods a year the schema allows: the Cash flows sheet holds this many per year of fund life. */
const MAX_PERIODS_PER_YEAR = 4;

type SheetNames = Record<'inputs' | 'flows' | 'summary' | 'sim' | 'checks', string>;

/**
 * The funds workbook as a spec: Inputs, Cash flows, Summary with the J-curve, Checks, and the Monte Carlo
 * results as values. Every blue input recomputes the whole workbook when edited within its schema range:
 * the Cash flows sheet holds 4 periods a year over the fund's life, driven by a flag column, so Periods per
 * year can change; the fund life, waterfall and currency shape the sheets and are fixed (grey, locked).
 */
export function fundsWorkbookSpec(
  result: FundsResult,
  input: FundsInput,
  formatting: Formatting,
  provenance?: Provenance,
  schema: JsonSchema = fundsSchema,
): WorkbookSpec {
  const name = sheetNamer(formatting);
  const names: SheetNames = {
    inputs: name('Inputs'),
    flows: name('Cash flows'),
    summary: name('Summary'),
    sim: name('Simulation'),
    checks: name('Checks'),
  };
  const inputsSheet = inputsSheetRows(
    names.inputs,
    formatting,
    'Inputs',
    fundsInputRows(result, input, schema),
  );
  const refs = inputsSheet.refs;
  const lastRc = refs[`rc${input.fundLifeYears}`]!;
  const I: Record<string, string> = {
    ...refs,
    rcTable: `${refs['rc1']}:${lastRc.slice(lastRc.lastIndexOf('!') + 1)}`,
  };
  const flows = cashFlowSheet(result, input, I, names.flows, formatting);
  const checks = checksSheet(names.checks, formatting, fundsChecks(result, input, I, flows.ref));
  const sheets: SheetSpec[] = [
    {
      name: names.inputs,
      rows: inputsSheet.rows,
      cols: [38, 18, 60],
      images: logoImages(formatting, 2),
      protect: true,
      validations: inputsSheet.validations,
    },
    flows.sheet,
    summarySheet(result, I, flows.ref, names, checks, formatting),
    checks.sheet,
  ];
  if (result.simulation) sheets.push(simulationSheet(result, names.sim, formatting));
  return {
    sheets,
    properties: workbookProperties(TITLE, provenance),
  };
}

/**
 * The funds workbook's xlsx bytes. `schema` is the input schema as the tenant's rules shape it
 * (`schemaForTenant`; the model's own by default): every input cell validates by it, and a field the rules fix
 * is a locked cell, so the workbook takes no value the tenant's own submit would refuse.
 */
export function fundsWorkbook(
  result: FundsResult,
  input: FundsInput,
  formatting: Formatting,
  provenance?: Provenance,
  schema: JsonSchema = fundsSchema,
): Uint8Array {
  const jobFormatting = formattingForCurrency(formatting, input.currency);
  return writeXlsx(fundsWorkbookSpec(result, input, jobFormatting, provenance, schema), jobFormatting);
}

/** Rows the Summary's J-curve chart spans; the IRR solver starts below it. */
const CHART_ROWS = 20;
const FIRST_ROW = 5; // 0-based row of the t = 0 line; period t sits at FIRST_ROW + t
const TROUGH_CELL = '$E$3';

/**
 * The Cash flows sheet, one row per period for 4 periods a year over the fund's life. Rows past the fund's
 * life (flag 0) show 0 for flows and keep totals to date, so sums, IRR and the last row's totals are those
 * of the fund's periods whatever Periods per year says. Rows past this run's periods are hidden.
 */
function cashFlowSheet(
  res: FundsResult,
  input: FundsInput,
  I: Record<string, string>,
  sheetName: string,
  formatting: Formatting,
) {
  const q = sheetRef(sheetName);
  const cols = cashFlowColumns(res, input, { ...I, trough: `${q}!${TROUGH_CELL}` });
  const colIndex = new Map(cols.map((c, i) => [c.key, i]));
  const letter = (key: string) => {
    const i = colIndex.get(key);
    if (i === undefined) throw new Error(`no column ${key}`);
    return colName(i);
  };
  const N = res.rates.periods;
  const R = input.fundLifeYears * MAX_PERIODS_PER_YEAR;
  const cumNet = `${letter('cumNet')}${FIRST_ROW + 2}:${letter('cumNet')}${FIRST_ROW + R + 1}`;
  const rows: Row[] = [
    ...headerRows(formatting, `Fund cash flows (${input.carry.waterfall} waterfall)`, cols.length),
    [
      { v: 'Trough period (lowest cumulative net cash flow; 0 if never below 0)', s: 'label' },
      undefined,
      undefined,
      undefined,
      {
        f: `IF(MIN(${cumNet})<0,MATCH(MIN(${cumNet}),${cumNet},0),0)`,
        v: troughPeriod(res.path.cumNetCashFlow),
        s: 'integer',
      },
    ],
    [
      {
        v: `Rows for ${MAX_PERIODS_PER_YEAR} periods a year are kept (those past this run's ${N} hidden) so that Periods per year can change on the Inputs sheet; the flag column marks the periods within the fund's life.`,
        s: 'note',
      },
    ],
  ];
  rows.push(cols.map((c): Cell => ({ v: c.header, s: 'colHeader' })));
  rows.push(
    cols.map((c): Cell | undefined =>
      c.key === 't' ? { v: 0, s: 'integer' } : c.initial ? { v: 0, s: c.style } : undefined,
    ),
  );
  for (let i = 0; i < R; i++) {
    const r = FIRST_ROW + i + 1;
    const cur = (key: string) => `${letter(key)}${r + 1}`;
    const prev = (key: string) => `${letter(key)}${r}`;
    rows.push(
      cols.map((c): Cell => {
        const idle = c.idle ?? (c.formula ? 'zero' : 'none');
        const v = i < N || idle === 'none' ? c.value(i) : idle === 'carry' ? c.value(N - 1) : 0;
        if (!c.formula) return { v, s: c.style };
        const f = c.formula(cur, prev);
        const on = `${cur('on')}=1`;
        const gated =
          idle === 'zero' ? `IF(${on},${f},0)` : idle === 'carry' ? `IF(${on},${f},${prev(c.key)})` : f;
        return { f: gated, v, s: c.style };
      }),
    );
  }
  const range = (key: string) => `${q}!$${letter(key)}$${FIRST_ROW + 2}:$${letter(key)}$${FIRST_ROW + R + 1}`;
  const lastCell = (key: string) => `${q}!$${letter(key)}$${FIRST_ROW + R + 1}`;
  const ref: FlowRefs & { trough: string } = { range, lastCell, rows: R, trough: `${q}!${TROUGH_CELL}` };
  return {
    sheet: {
      name: sheetName,
      rows,
      cols: cols.map((c) => (c.key === 't' ? 6 : 14)),
      freeze: { rows: FIRST_ROW, cols: 2 },
      ...(N < R ? { hiddenRows: { from: FIRST_ROW + N + 1, to: FIRST_ROW + R } } : {}),
    } as SheetSpec,
    ref,
  };
}

/**
 * The annual IRR of a flow range from its per-period root on the Summary's IRR solver (workbook-irr.ts), or "n/a"
 * where the model reports none, as a formula so that it follows edits to the inputs both ways (a static "n/a"
 * stayed "n/a" after an edit gave the flows an IRR).
 */
function liveIrr(root: string, P: string): string {
  return `IF(ISNUMBER(${root}),(1+${root})^${P}-1,"n/a")`;
}

/**
 * The warnings of `termsWarnings` as formulas on the Summary's own cells: each shows its text while its
 * condition holds, so the Summary stays true when an input is edited. Cached values are the model's.
 */
function termsChecks(
  res: FundsResult,
  at: Record<'commitment' | 'paidIn' | 'distributions' | 'nav' | 'fees' | 'carry', string>,
): { code: string; cell: Cell }[] {
  const has = (code: string) => res.warnings.some((w) => w.code === code);
  const check = (code: string, condition: string, text: string) => ({
    code,
    cell: { f: `IF(${condition},"${text}","")`, v: has(code) ? text : '', s: 'note' } as Cell,
  });
  return [
    check(
      'fees_exceed_commitment',
      `${at.fees}>${at.commitment}`,
      'Warning: management fees total more than the commitment: LPs would pay more in fees than they committed (check the fee rate, its basis and the fund life).',
    ),
    check(
      'carry_above_profit',
      `AND(${at.carry}>${at.paidIn}*${CARRY_LOSS_SLACK.toFixed(9)},${at.distributions}+${at.nav}<${at.paidIn}*(1-${CARRY_LOSS_SLACK.toFixed(9)}))`,
      'Warning: carried interest is paid while LPs get back less than they paid in (fees included): carry the whole fund did not earn, which a clawback would return.',
    ),
  ];
}

function summarySheet(
  res: FundsResult,
  I: Record<string, string>,
  ref: FlowRefs,
  names: SheetNames,
  checks: { overall: string; ok: boolean },
  formatting: Formatting,
): SheetSpec {
  const m = res.metrics;
  const N = res.rates.periods;
  const rows: Row[] = [...headerRows(formatting, 'Summary (net to limited partners)', 10), []];
  const line = (label: string, cell: Cell) => rows.push([{ v: label, s: 'label' }, cell]);
  const at = (row: number) => `B${row + 1}`;
  const paidInRow = rows.length;
  line('Paid-in (contributions + fees)', { f: ref.lastCell('lpPaidIn'), v: m.paidIn, s: 'money' });
  line('Distributions', { f: ref.lastCell('cumLpD'), v: m.distributions, s: 'money' });
  line('Remaining NAV', { f: `INDEX(${ref.range('lpNav')},${I['N']})`, v: m.nav, s: 'money' });
  // A multiple of paid-in 0 is undefined: "n/a", as the JSON's null (a 0 read as a total loss).
  const paidIn = at(paidInRow);
  const ratio = (label: string, numerator: string, v: number | null) =>
    line(label, { f: `IF(${paidIn}>0,${numerator}/${paidIn},"n/a")`, v: v ?? 'n/a', s: 'number' });
  ratio('DPI', at(paidInRow + 1), m.dpi);
  ratio('RVPI', at(paidInRow + 2), m.rvpi);
  ratio('TVPI', `(${at(paidInRow + 1)}+${at(paidInRow + 2)})`, m.tvpi);
  // Formulas set once the solver's rows (below the chart) have their place.
  const irrCell = (v: number): Cell => ({ v: Number.isFinite(v) ? v : 'n/a', s: 'percent' });
  const irrCells = [irrCell(m.netIrr), irrCell(m.grossIrr)];
  line('Net IRR (annual)', irrCells[0]!);
  line('Gross IRR (annual)', irrCells[1]!);
  const feesRow = rows.length;
  line('Management fees', { f: `SUM(${ref.range('fee')})`, v: m.totalFees, s: 'money' });
  const carryRow = rows.length;
  line('Carried interest', { f: ref.lastCell('cumCarry'), v: m.totalCarry, s: 'money' });
  line('Peak capital at risk', { f: `-MIN(0,${ref.range('cumNet')})`, v: m.peakCapitalAtRisk, s: 'money' });
  const be = ref.range('be');
  line('Break-even year', {
    f: `IF(COUNT(${be})=0,"not reached",${I['vintage']}+ROUNDUP(MIN(${be})/${I['P']},0)-1)`,
    v: m.breakEvenYear ?? 'not reached',
    s: 'integer',
  });
  line(`Model checks pass (see ${names.checks})`, { f: checks.overall, v: checks.ok, s: 'bold' });
  rows.push([], [{ v: 'Warnings (blank when fine; they follow edits to the inputs)', s: 'bold' }]);
  const live = termsChecks(res, {
    commitment: I['commit']!,
    paidIn: at(paidInRow),
    distributions: at(paidInRow + 1),
    nav: at(paidInRow + 2),
    fees: at(feesRow),
    carry: at(carryRow),
  });
  for (const check of live) rows.push([check.cell]);
  // The rest (IRR roots, a rate typed as percent) are about the inputs this job ran with, so they are values.
  const liveCodes = new Set(live.map((c) => c.code));
  rows.push(...warningRows(res.warnings.filter((w) => !liveCodes.has(w.code))));
  rows.push([], [{ v: 'The J-curve: cumulative net cash flow to LPs, with LP NAV.', s: 'note' }]);
  const top = rows.length + 1;
  // The chart spans every row the sheet holds; rows hidden past the run are left out (plotVisOnly).
  const R = ref.rows;
  const P = res.rates.perYear;
  const label = (i: number) => {
    const year = res.year[0]! + Math.ceil((i + 1) / P) - 1;
    return P === 1 ? year : `${year} Q${(i % P) + 1}`;
  };
  const pad = (xs: ArrayLike<number>, carry: boolean) =>
    Array.from({ length: R }, (_, i) => (i < N ? xs[i]! : carry ? xs[N - 1]! : 0));
  while (rows.length < top + CHART_ROWS + 2) rows.push([]);
  const solver = irrSolverRows(
    rows.length,
    [
      { label: 'Net to LPs', range: ref.range('net'), values: pad(res.path.netCashFlow, false) },
      { label: 'Gross', range: ref.range('grossFlow'), values: pad(grossFlows(res.path), false) },
    ],
    ref.range('t'),
    I['N']!,
    N,
  );
  rows.push(...solver.rows);
  irrCells.forEach((c, i) => {
    c.f = liveIrr(solver.rootCells[i]!, I['P']!);
  });
  return {
    name: names.summary,
    rows,
    cols: [32, 18],
    images: logoImages(formatting, 9),
    charts: [
      {
        kind: 'line',
        title: 'J-curve: cumulative net cash flow to LPs',
        categoriesRef: ref.range('label'),
        categories: Array.from({ length: R }, (_, i) => label(i)),
        series: [
          {
            name: 'Cumulative net cash flow',
            ref: ref.range('cumNet'),
            values: pad(res.path.cumNetCashFlow, true),
          },
          { name: 'LP NAV', ref: ref.range('lpNav'), values: pad(res.path.lpNav, false) },
        ],
        from: { col: 0, row: top },
        to: { col: 10, row: top + CHART_ROWS },
      },
    ],
  };
}
