import type { Formatting } from '../../core/tenant.ts';
import type { JsonSchema } from '../types.ts';
import {
  a1,
  type Cell,
  colName,
  type Row,
  type SheetSpec,
  type StyleName,
  sheetRef,
  type Validation,
} from '../xlsx/cells.ts';
import { headerRows } from '../xlsx/layout.ts';
import { acceptsField, fixedByTenant } from '../xlsx/validation.ts';
import type { FinanceResult, FinanceYear } from './run.ts';
import { type FinanceInput, financeSchema, MAX_YEARS } from './schema.ts';
import { type SensitivityCentres, sensitivityRows } from './workbook-sensitivity.ts';

export type DcfRefs = Record<
  | 'fcf'
  | 'years'
  | 'pvFcf'
  | 'tv'
  | 'pvTv'
  | 'ev'
  | 'equity'
  | 'perShare'
  | 'netDebt'
  | 'impliedMultiple'
  | 'impliedGrowth',
  string
> &
  Record<
    | 'onRow'
    | 'growthRow'
    | 'pvRow'
    | 'fcfRow'
    | 'revenueRow'
    | 'ebitdaRow'
    | 'nopatRow'
    | 'daRow'
    | 'capexRow'
    | 'dnwcRow',
    string
  > & {
    /** The cells of the sensitivity tables at the inputs: each equals EV under its terminal method. */
    sensitivity: SensitivityCentres;
  };

/** Row numbers (0-based) of each line, so formulas can name them. */
const L = {
  year: 3,
  t: 4,
  on: 5,
  growth: 6,
  revenue: 7,
  ebitda: 8,
  da: 9,
  ebit: 10,
  tax: 11,
  nopat: 12,
  capex: 13,
  nwc: 14,
  dnwc: 15,
  fcf: 16,
  df: 17,
  pv: 18,
};

/**
 * The DCF sheet, one column per year up to the schema's maximum (30): a flag row marks the years within
 * Projection years, and revenue and the change in NWC are 0 outside them, so every line after is 0 and
 * sums, NPV and the terminal value (INDEX at Projection years) follow an edited year count. Columns past
 * this run's years are hidden. Cached values are the model's; past the run, the zeros the formulas give.
 */
export function dcfSheet(
  res: FinanceResult,
  I: Record<string, string>,
  sheetName: string,
  formatting: Formatting,
  input: FinanceInput,
  schema: JsonSchema = financeSchema,
): { sheet: SheetSpec; refs: DcfRefs } {
  const growthArray = Array.isArray(input.revenueGrowth);
  // Per-year growth the tenant's rules fix is shown locked, like the other fixed inputs.
  const growthStyle = fixedByTenant(schema, 'revenueGrowth') ? 'percent' : 'percentInput';
  const n = res.years.length;
  const M = MAX_YEARS;
  const rows: Row[] = [...headerRows(formatting, 'Discounted cash flow', n + 2), []];
  const R = (row: number, col: number) => a1(col, row);
  const line = (
    label: string,
    style: StyleName,
    cells: (col: number) => Cell | undefined,
    base?: Cell,
  ): Row => {
    const row: Row = [{ v: label, s: style === 'moneyBold' ? 'bold' : 'label' }, base];
    for (let i = 0; i < M; i++) row.push(cells(i + 2));
    return row;
  };
  const y = (c: number): FinanceYear => res.years[c - 2] ?? idleYear(res, input, c - 2);
  const prev = (c: number) => colName(c - 1);
  const col = (c: number) => colName(c);
  const on = (c: number) => `${R(L.on, c)}=1`;
  rows.push(
    line('Year', 'colHeader', (c) => ({ f: `${prev(c)}${L.year + 1}+1`, v: y(c).year, s: 'colHeader' }), {
      f: `${I['startYear']}-1`,
      v: res.baseYear.year,
      s: 'colHeader',
    }),
    line('Period t', 'integer', (c) => ({ f: `${prev(c)}${L.t + 1}+1`, v: y(c).t, s: 'integer' }), {
      v: 0,
      s: 'integer',
    }),
    line('Projected (flag)', 'integer', (c) => ({
      f: `IF(${R(L.t, c)}<=${I['years']},1,0)`,
      v: c - 2 < n ? 1 : 0,
      s: 'integer',
    })),
    line('Revenue growth', 'percent', (c) =>
      growthArray
        ? c - 2 < n
          ? { v: y(c).growth, s: growthStyle }
          : { s: growthStyle }
        : { f: I['revenueGrowth']!, v: y(c).growth, s: 'percent' },
    ),
    line(
      'Revenue',
      'money',
      (c) => ({
        f: `IF(${on(c)},${prev(c)}${L.revenue + 1}*(1+${col(c)}${L.growth + 1}),0)`,
        v: y(c).revenue,
        s: 'money',
      }),
      { f: I['revenue']!, v: res.baseYear.revenue, s: 'money' },
    ),
    line('EBITDA', 'money', (c) => ({
      f: `${R(L.revenue, c)}*${I['ebitdaMargin']}`,
      v: y(c).ebitda,
      s: 'money',
    })),
    line('Depreciation & amortisation', 'money', (c) => ({
      f: `${R(L.revenue, c)}*${I['dep']}`,
      v: y(c).depreciation,
      s: 'money',
    })),
    line('EBIT', 'money', (c) => ({ f: `${R(L.ebitda, c)}-${R(L.da, c)}`, v: y(c).ebit, s: 'money' })),
    line('Tax', 'money', (c) => ({ f: `MAX(0,${R(L.ebit, c)})*${I['tax']}`, v: y(c).tax, s: 'money' })),
    line('NOPAT', 'money', (c) => ({ f: `${R(L.ebit, c)}-${R(L.tax, c)}`, v: y(c).nopat, s: 'money' })),
    line('Capex', 'money', (c) => ({ f: `${R(L.revenue, c)}*${I['capex']}`, v: y(c).capex, s: 'money' })),
    line(
      'Net working capital',
      'money',
      (c) => ({ f: `${R(L.revenue, c)}*${I['nwc']}`, v: y(c).nwc, s: 'money' }),
      { f: `${R(L.revenue, 1)}*${I['nwc']}`, v: res.baseYear.nwc, s: 'money' },
    ),
    line('Change in NWC', 'money', (c) => ({
      f: `IF(${on(c)},${R(L.nwc, c)}-${R(L.nwc, c - 1)},0)`,
      v: y(c).changeInNwc,
      s: 'money',
    })),
    line('Free cash flow', 'moneyBold', (c) => ({
      f: `${R(L.nopat, c)}+${R(L.da, c)}-${R(L.capex, c)}-${R(L.dnwc, c)}`,
      v: y(c).freeCashFlow,
      s: 'moneyBold',
    })),
    line('Discount factor', 'factor', (c) => ({
      f: `1/(1+${I['r']})^(${R(L.t, c)}-${I['offset']})`,
      v: y(c).discountFactor,
      s: 'factor',
    })),
    line('Present value', 'money', (c) => ({
      f: `${R(L.fcf, c)}*${R(L.df, c)}`,
      v: y(c).presentValue,
      s: 'money',
    })),
    [],
    [
      {
        v: `Columns for up to ${M} years are kept (those past this run's ${n} hidden) so that Projection years can change on the Inputs sheet; the flag row marks the years counted.`,
        s: 'note',
      },
    ],
    [{ v: 'Valuation', s: 'bold' }],
  );
  const first = colName(2);
  const last = colName(M + 1);
  const range = (row: number) => `${first}${row + 1}:${last}${row + 1}`;
  const fcfRange = range(L.fcf);
  const lastOf = (row: number) => `INDEX(${range(row)},1,${I['years']})`;
  const vr = rows.length; // row of the first valuation line
  const at: Record<string, string> = {};
  const valuation: [key: string, label: string, cell: Cell][] = [];
  const add = (key: string, label: string, cell: Cell) => {
    at[key] = `C${vr + valuation.length + 1}`;
    valuation.push([key, label, cell]);
  };
  const r = I['r']!;
  add('pvSum', 'Sum of present values (check)', {
    f: `SUM(${range(L.pv)})`,
    v: sum(res.years.map((x) => x.presentValue)),
    s: 'money',
  });
  add('pvFcf', 'PV of free cash flows', {
    f: `NPV(${r},${fcfRange})*(1+${r})^${I['offset']}`,
    v: res.pvOfCashFlows,
    s: 'money',
  });
  add('tv', 'Terminal value (Gordon or exit multiple, per Inputs)', {
    f: `IF(${I['terminalMethod']}="exitMultiple",${lastOf(L.ebitda)}*${I['exitMultiple']},${lastOf(L.fcf)}*(1+${I['g']})/(${r}-${I['g']}))`,
    v: res.terminalValue,
    s: 'money',
  });
  add('pvTv', 'PV of terminal value', {
    f: `${at['tv']}/(1+${r})^(${I['years']}-IF(${I['terminalMethod']}="exitMultiple",0,${I['offset']}))`,
    v: res.pvOfTerminalValue,
    s: 'money',
  });
  add('ev', 'Enterprise value', {
    f: `${at['pvFcf']}+${at['pvTv']}`,
    v: res.enterpriseValue,
    s: 'moneyBold',
  });
  add('netDebt', 'Net debt', { f: I['netDebt']!, v: res.netDebt, s: 'money' });
  add('equity', 'Equity value', { f: `${at['ev']}-${at['netDebt']}`, v: res.equityValue, s: 'moneyBold' });
  if (res.valuePerShare !== null) {
    add('shares', 'Shares outstanding', { f: I['shares']!, v: res.sharesOutstanding!, s: 'number' });
    add('perShare', 'Value per share', {
      f: `${at['equity']}/${at['shares']}`,
      v: res.valuePerShare,
      s: 'moneyBold',
    });
  }
  // Both cross-checks compare the methods at one date: a Gordon value is as at n − offset, an exit value as at n.
  const exitSel = `${I['terminalMethod']}="exitMultiple"`;
  const tvAtEnd = `IF(${exitSel},${at['tv']},${at['tv']}*(1+${r})^${I['offset']})`;
  const gordonTv = `IF(${exitSel},${at['tv']}/(1+${r})^${I['offset']},${at['tv']})`;
  add('impliedMultiple', 'Implied exit multiple (terminal value at the end of the last year / last EBITDA)', {
    // Only over a positive EBITDA (multipleDefined).
    f: `IF(${lastOf(L.ebitda)}>0,${tvAtEnd}/${lastOf(L.ebitda)},"n/a")`,
    v: res.impliedExitMultiple ?? 'n/a',
    s: 'number',
  });
  add('impliedGrowth', 'Implied perpetual growth of free cash flow', {
    // Only where the solution is below the discount rate, Gordon's domain (growthDefined).
    f: `IF(OR(AND(${lastOf(L.fcf)}>0,${gordonTv}+${lastOf(L.fcf)}>0),AND(${lastOf(L.fcf)}<0,${gordonTv}+${lastOf(L.fcf)}<0)),(${gordonTv}*${r}-${lastOf(L.fcf)})/(${gordonTv}+${lastOf(L.fcf)}),"n/a")`,
    v: res.impliedTerminalGrowth ?? 'n/a',
    s: 'percent',
  });
  for (const [, label, cell] of valuation) rows.push([{ v: label, s: 'label' }, undefined, cell]);
  const q = sheetRef(sheetName);
  const ref = (key: string) => `${q}!${at[key]!.replace(/^C(\d+)$/, '$$C$$$1')}`;
  const absRange = (row: number) => `${q}!$${first}$${row + 1}:$${last}$${row + 1}`;
  const refs: DcfRefs = {
    fcf: absRange(L.fcf),
    years: absRange(L.year),
    pvFcf: ref('pvFcf'),
    tv: ref('tv'),
    pvTv: ref('pvTv'),
    ev: ref('ev'),
    netDebt: ref('netDebt'),
    equity: ref('equity'),
    perShare: at['perShare'] ? ref('perShare') : '',
    impliedMultiple: ref('impliedMultiple'),
    impliedGrowth: ref('impliedGrowth'),
    onRow: absRange(L.on),
    growthRow: absRange(L.growth),
    pvRow: absRange(L.pv),
    fcfRow: absRange(L.fcf),
    revenueRow: absRange(L.revenue),
    ebitdaRow: absRange(L.ebitda),
    nopatRow: absRange(L.nopat),
    daRow: absRange(L.da),
    capexRow: absRange(L.capex),
    dnwcRow: absRange(L.dnwc),
    sensitivity: sensitivityRows(rows, res, I, q, { fcf: absRange(L.fcf), ebitda: absRange(L.ebitda) }),
  };
  return {
    sheet: {
      name: sheetName,
      rows,
      cols: [30, ...Array.from({ length: M + 1 }, () => 15)],
      freeze: { rows: 4, cols: 1 },
      ...(n < M ? { hiddenCols: { from: n + 2, to: M + 1 } } : {}),
      // The per-year growth inputs accept what the schema's array items do; blank past the projection.
      ...(growthArray && growthStyle === 'percentInput'
        ? { validations: [growthValidation(schema, `${a1(2, L.growth)}:${a1(M + 1, L.growth)}`)] }
        : {}),
    },
    refs,
  };
}

function growthValidation(schema: JsonSchema, ref: string): Validation {
  const accepts = acceptsField(schema, 'revenueGrowth', { items: true, allowBlank: true });
  if (typeof accepts === 'function') throw new Error('revenue growth bounds are inclusive');
  return { ...accepts, ref } as Validation;
}

/** A year past the projection as its formulas compute it: every flow 0, the discount factor still defined. */
function idleYear(res: FinanceResult, input: FinanceInput, i: number): FinanceYear {
  const t = i + 1;
  const discountFactor = 1 / (1 + input.discountRate) ** (t - res.timingOffset);
  const growth = typeof input.revenueGrowth === 'number' ? input.revenueGrowth : 0;
  const z = { revenue: 0, ebitda: 0, depreciation: 0, ebit: 0, tax: 0, nopat: 0, capex: 0, nwc: 0 };
  return {
    year: res.baseYear.year + t,
    t,
    growth,
    ...z,
    changeInNwc: 0,
    freeCashFlow: 0,
    discountFactor,
    presentValue: 0,
  };
}

export function sum(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
