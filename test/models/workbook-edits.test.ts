import { strFromU8 } from 'fflate';
import type { HyperFormula } from 'hyperformula';
import { describe, expect, it } from 'vitest';
import { excelSerial } from '../../src/models/finmath.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import type { ModelDefinition } from '../../src/models/types.ts';
import { STYLE_ORDER } from '../../src/models/xlsx/styles.ts';
import { loadIntoEngine } from './engine.ts';
import { type ReadSheet, readXlsx } from './xlsx-read.ts';

// Issue 13, kind 3: every blue input recomputes the whole workbook when edited within its schema range.
// Each case edits one input in HyperFormula and compares the recomputed figures with the API's model run
// (`run(input, rules)`) on the same input changed the same way.

const finance = getModel('finance');
const funds = getModel('funds');
const REL = 1e-6;

type Raw = Record<string, unknown>;
type Edit = { label: string; value: number | string | null; apply: (raw: Raw) => Raw; sheet?: string };

async function workbookOf(model: ModelDefinition, raw: Raw) {
  const { effectiveInput } = resolveInput(model, {}, raw);
  const bytes = await model.workbook(model.run(effectiveInput, {}), effectiveInput, {});
  return readXlsx(bytes).sheets;
}

function apiRun(model: ModelDefinition, raw: Raw) {
  const { effectiveInput } = resolveInput(model, {}, raw);
  const problems = model.check(effectiveInput);
  expect(problems, 'the edited input is one the API accepts').toEqual([]);
  return model.run(effectiveInput, {}) as Record<string, unknown>;
}

const styleName = (c: { style: number }) => STYLE_ORDER[c.style] ?? 'default';

/** The B cell beside a label in column A of a sheet. */
function cellBeside(sheets: ReadSheet[], sheet: string, label: string) {
  const s = sheets.find((x) => x.name === sheet)!;
  const at = s.cells.find((c) => c.col === 0 && c.value === label);
  if (!at) throw new Error(`no "${label}" on ${sheet}`);
  return { row: at.row, col: 1 };
}

function edited(sheets: ReadSheet[], edits: { sheet: string; row: number; col: number; value: unknown }[]) {
  const hf = loadIntoEngine(sheets);
  for (const e of edits) {
    hf.setCellContents({ sheet: hf.getSheetId(e.sheet)!, row: e.row, col: e.col }, e.value as never);
  }
  return hf;
}

function read(hf: HyperFormula, sheets: ReadSheet[], sheet: string, label: string): unknown {
  const { row, col } = cellBeside(sheets, sheet, label);
  return hf.getCellValue({ sheet: hf.getSheetId(sheet)!, row, col });
}

function expectClose(got: unknown, want: number, what: string, scale = 0) {
  expect(typeof got, `${what}: ${JSON.stringify(got)}`).toBe('number');
  const tol = REL * Math.max(Math.abs(want), scale, 1e-9);
  expect(Math.abs((got as number) - want), `${what}: workbook ${got}, API ${want}`).toBeLessThanOrEqual(tol);
}

/** The Inputs sheet's editable cells (input styles), by label. */
function editableLabels(sheets: ReadSheet[]): string[] {
  const inputs = sheets.find((s) => s.name === 'Inputs')!;
  return inputs.cells
    .filter((c) => c.col === 1 && styleName(c).endsWith('Input'))
    .map((c) => inputs.cells.find((l) => l.row === c.row && l.col === 0)!.value as string);
}

const set = (path: string, value: unknown) => (raw: Raw) => {
  const copy = structuredClone(raw);
  const keys = path.split('.');
  let at = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    at[k] ??= {};
    at = at[k] as Record<string, unknown>;
  }
  if (value === undefined) delete at[keys[keys.length - 1]!];
  else at[keys[keys.length - 1]!] = value;
  return copy;
};

describe('finance: every editable input recomputes to the API run (HyperFormula)', () => {
  const base: Raw = {
    revenueGrowth: 0.06,
    netDebt: 250_000,
    sharesOutstanding: 1000,
    loan: { principal: 500_000, annualRate: 0.055, termMonths: 360, startDate: '2025-01-31' },
  };
  const edits: Edit[] = [
    { label: 'First projected year', value: 2031, apply: set('startYear', 2031) },
    { label: 'Projection years', value: 3, apply: set('years', 3) },
    { label: 'Projection years', value: 12, apply: set('years', 12) },
    { label: 'Projection years', value: 30, apply: set('years', 30) },
    { label: 'Base-year revenue', value: 2_500_000, apply: set('revenue', 2_500_000) },
    { label: 'Revenue growth', value: 0.12, apply: set('revenueGrowth', 0.12) },
    { label: 'EBITDA margin', value: -0.05, apply: set('ebitdaMargin', -0.05) },
    { label: 'D&A, % of revenue', value: 0.05, apply: set('depreciationPctRevenue', 0.05) },
    { label: 'Capex, % of revenue', value: 0.08, apply: set('capexPctRevenue', 0.08) },
    { label: 'Net working capital, % of revenue', value: 0.2, apply: set('nwcPctRevenue', 0.2) },
    { label: 'Tax rate', value: 0.3, apply: set('taxRate', 0.3) },
    { label: 'Discount rate (WACC)', value: 0.08, apply: set('discountRate', 0.08) },
    { label: 'Terminal growth', value: 0.03, apply: set('terminalGrowth', 0.03) },
    { label: 'Terminal value method', value: 'exitMultiple', apply: set('terminalMethod', 'exitMultiple') },
    { label: 'Exit multiple (EV/EBITDA)', value: 11, apply: set('exitMultiple', 11) },
    { label: 'Discounting', value: 'mid-year', apply: set('discounting', 'mid-year') },
    { label: 'Net debt', value: -100_000, apply: set('netDebt', -100_000) },
    { label: 'Shares outstanding', value: 5000, apply: set('sharesOutstanding', 5000) },
    { label: 'Loan principal', value: 2_000_000, apply: set('loan.principal', 2_000_000) },
    { label: 'Loan annual rate', value: 0.09, apply: set('loan.annualRate', 0.09) },
    { label: 'Loan term', value: 240, apply: set('loan.termMonths', 240) },
    { label: 'Loan term', value: 600, apply: set('loan.termMonths', 600) },
    { label: 'Loan term', value: 1, apply: set('loan.termMonths', 1) },
    {
      label: 'Loan drawdown date',
      value: excelSerial('2026-03-31'),
      apply: set('loan.startDate', '2026-03-31'),
    },
  ];

  it('the edits below cover every blue cell of the Inputs sheet; currency is fixed', async () => {
    const sheets = await workbookOf(finance, base);
    expect(new Set(editableLabels(sheets))).toEqual(new Set(edits.map((e) => e.label)));
    const inputs = sheets.find((s) => s.name === 'Inputs')!;
    const currency = cellBeside(sheets, 'Inputs', 'Currency');
    const cell = inputs.cells.find((c) => c.row === currency.row && c.col === 1)!;
    expect(styleName(cell)).toBe('fixed');
    expect(inputs.xml).toContain('<sheetProtection sheet="1"');
    // On the protected sheet only input styles are unlocked: the fixed cell and formulas stay locked.
    const { effectiveInput } = resolveInput(finance, {}, base);
    const { files } = readXlsx(await finance.workbook(finance.run(effectiveInput, {}), effectiveInput, {}));
    const xfs = [
      ...strFromU8(files['xl/styles.xml']!).matchAll(/<xf [^>]*xfId="0"[^>]*?(?:\/>|>.*?<\/xf>)/g),
    ];
    const unlocked = xfs.flatMap((m, i) => (m[0].includes('locked="0"') ? [STYLE_ORDER[i]] : []));
    expect(unlocked.sort()).toEqual(STYLE_ORDER.filter((n) => n.endsWith('Input')).sort());
  });

  for (const e of edits) {
    it(`${e.label} → ${e.value}`, async () => {
      const sheets = await workbookOf(finance, base);
      const at = cellBeside(sheets, 'Inputs', e.label);
      const hf = edited(sheets, [{ sheet: 'Inputs', ...at, value: e.value }]);
      const api = apiRun(finance, e.apply(base)) as {
        enterpriseValue: number;
        equityValue: number;
        valuePerShare: number;
        pvOfTerminalValue: number;
        loan: { payment: number; totalInterest: number; rows: { closing: number }[] };
      };
      expectClose(read(hf, sheets, 'Summary', 'Enterprise value'), api.enterpriseValue, 'EV');
      expectClose(read(hf, sheets, 'Summary', 'Equity value'), api.equityValue, 'equity');
      expectClose(read(hf, sheets, 'Summary', 'Value per share'), api.valuePerShare, 'per share');
      expectClose(read(hf, sheets, 'Summary', 'PV of terminal value'), api.pvOfTerminalValue, 'PV of TV');
      expectClose(read(hf, sheets, 'Summary', 'Loan monthly payment'), api.loan.payment, 'payment');
      expectClose(read(hf, sheets, 'Summary', 'Loan total interest'), api.loan.totalInterest, 'interest');
      // The schedule has exactly `term` months and closes at 0.
      const term = api.loan.rows.length;
      const loan = hf.getSheetId('Loan')!;
      const flags = Array.from({ length: 600 }, (_, i) =>
        hf.getCellValue({ sheet: loan, row: 8 + i, col: 7 }),
      );
      expect(flags.filter((f) => f === 1)).toHaveLength(term);
      const closing = hf.getCellValue({ sheet: loan, row: 8 + term - 1, col: 6 });
      expect(Math.abs(closing as number)).toBeLessThanOrEqual(1e-6);
      expect(read(hf, sheets, 'Checks', 'All checks pass')).toBe(true);
      hf.destroy();
    });
  }

  it('exit multiple, multiple and WACC edited together: EV, the implied growth and the checks follow the API', async () => {
    const sheets = await workbookOf(finance, base);
    const at = (label: string) => cellBeside(sheets, 'Inputs', label);
    const hf = edited(sheets, [
      { sheet: 'Inputs', ...at('Terminal value method'), value: 'exitMultiple' },
      { sheet: 'Inputs', ...at('Exit multiple (EV/EBITDA)'), value: 6.5 },
      { sheet: 'Inputs', ...at('Discount rate (WACC)'), value: 0.12 },
      { sheet: 'Inputs', ...at('Projection years'), value: 7 },
    ]);
    const api = apiRun(finance, {
      ...base,
      terminalMethod: 'exitMultiple',
      exitMultiple: 6.5,
      discountRate: 0.12,
      years: 7,
    }) as {
      enterpriseValue: number;
      impliedTerminalGrowth: number;
      impliedExitMultiple: number;
    };
    expectClose(read(hf, sheets, 'Summary', 'Enterprise value'), api.enterpriseValue, 'EV');
    expectClose(
      read(hf, sheets, 'Summary', 'Implied perpetual growth'),
      api.impliedTerminalGrowth,
      'implied g',
    );
    expectClose(read(hf, sheets, 'Summary', 'Implied exit multiple (EV/EBITDA)'), 6.5, 'implied multiple');
    expect(read(hf, sheets, 'Summary', 'Terminal value method')).toBe('exitMultiple');
    expect(read(hf, sheets, 'Checks', 'All checks pass')).toBe(true);
    hf.destroy();
  });

  // Session 20, sibling of the funds IRR "n/a": the Summary left out its implied-multiple and implied-growth
  // lines when the model had none (EBITDA negative; only g ≥ r solving Gordon), so an edit that gave them a
  // value showed nothing. Each line is now always there, linked to its live DCF cell ("n/a" or the number).
  const flat: Raw = { revenue: 1000, revenueGrowth: 0, depreciationPctRevenue: 0.05, nwcPctRevenue: 0 };
  const undefinedCrossChecks = [
    // A negative EBITDA has no meaningful multiple; a margin of 25 % gives one.
    {
      line: 'Implied exit multiple (EV/EBITDA)',
      figure: 'impliedExitMultiple',
      raw: { ...flat, ebitdaMargin: -0.05 },
      edit: { label: 'EBITDA margin', key: 'ebitdaMargin', value: 0.25 },
    },
    // Capex half of revenue under an exit at 8×: only g ≥ r solves Gordon; capex 0 gives a growth.
    {
      line: 'Implied perpetual growth',
      figure: 'impliedTerminalGrowth',
      raw: { ...flat, capexPctRevenue: 0.5, terminalMethod: 'exitMultiple', exitMultiple: 8 },
      edit: { label: 'Capex, % of revenue', key: 'capexPctRevenue', value: 0 },
    },
  ];
  for (const { line, figure, raw, edit } of undefinedCrossChecks) {
    it(`${line}: n/a where the model has none, the API's number after an edit gives one`, async () => {
      const sheets = await workbookOf(finance, raw);
      expect(apiRun(finance, raw)[figure]).toBeNull();
      const untouched = loadIntoEngine(sheets);
      expect(read(untouched, sheets, 'Summary', line)).toBe('n/a');
      untouched.destroy();
      const at = cellBeside(sheets, 'Inputs', edit.label);
      const hf = edited(sheets, [{ sheet: 'Inputs', ...at, value: edit.value }]);
      const api = apiRun(finance, { ...raw, [edit.key]: edit.value });
      expect(typeof api[figure]).toBe('number');
      expectClose(read(hf, sheets, 'Summary', line), api[figure] as number, line);
      hf.destroy();
    });
  }

  it('per-year growth: the DCF growth cells and Projection years follow the API', async () => {
    const raw: Raw = { years: 4, revenueGrowth: [0.2, 0.1, -0.05, 0.03] };
    const sheets = await workbookOf(finance, raw);
    const dcf = sheets.find((s) => s.name === 'DCF')!;
    const growthRow = dcf.cells.find((c) => c.col === 0 && c.value === 'Revenue growth')!.row;
    const blue = dcf.cells.filter((c) => styleName(c) === 'percentInput');
    expect(blue.length).toBe(30);
    // Year 2's growth edited to 15 %.
    let hf = edited(sheets, [{ sheet: 'DCF', row: growthRow, col: 3, value: 0.15 }]);
    let api = apiRun(finance, { ...raw, revenueGrowth: [0.2, 0.15, -0.05, 0.03] }) as {
      enterpriseValue: number;
    };
    expectClose(read(hf, sheets, 'Summary', 'Enterprise value'), api.enterpriseValue, 'EV');
    hf.destroy();
    // Four years down to two: the API with the first two rates.
    const years = cellBeside(sheets, 'Inputs', 'Projection years');
    hf = edited(sheets, [{ sheet: 'Inputs', ...years, value: 2 }]);
    api = apiRun(finance, { years: 2, revenueGrowth: [0.2, 0.1] }) as { enterpriseValue: number };
    expectClose(read(hf, sheets, 'Summary', 'Enterprise value'), api.enterpriseValue, 'EV');
    hf.destroy();
  });
});

describe('funds: every editable input recomputes to the API run (HyperFormula)', () => {
  const base: Raw = {
    contributionYears: 5,
    managementFee: { rate: 0.02, basis: 'committed', stepDownAfterYear: 6, stepDownRate: 0.01 },
  };
  const L = 12;
  const rcArray = (edit?: [number, number]) =>
    Array.from({ length: L }, (_, i) =>
      edit && edit[0] === i + 1 ? edit[1] : ([0.25, 0.333, 0.5][i] ?? 0.5),
    );
  const edits: Edit[] = [
    { label: 'Commitment', value: 50_000_000, apply: set('commitment', 50_000_000) },
    { label: 'Vintage year', value: 2031, apply: set('vintageYear', 2031) },
    { label: 'Periods per year', value: 4, apply: set('periodsPerYear', 4) },
    { label: 'Bow (B)', value: 1.5, apply: set('bow', 1.5) },
    { label: 'Growth rate (G)', value: 0.04, apply: set('growthRate', 0.04) },
    { label: 'Yield (Y)', value: 0.1, apply: set('yield', 0.1) },
    { label: 'Management fee', value: 0.015, apply: set('managementFee.rate', 0.015) },
    { label: 'Fee basis', value: 'nav', apply: set('managementFee.basis', 'nav') },
    { label: 'Fee basis', value: 'invested', apply: set('managementFee.basis', 'invested') },
    { label: 'Fee step-down after fund year', value: 3, apply: set('managementFee.stepDownAfterYear', 3) },
    { label: 'Fee after step-down', value: 0.005, apply: set('managementFee.stepDownRate', 0.005) },
    { label: 'Carried interest', value: 0.3, apply: set('carry.rate', 0.3) },
    { label: 'Hurdle rate', value: 0.06, apply: set('carry.hurdleRate', 0.06) },
    { label: 'GP catch-up', value: 0.5, apply: set('carry.catchUp', 0.5) },
    { label: 'Last contribution year', value: 3, apply: set('contributionYears', 3) },
    { label: 'Last contribution year', value: null, apply: set('contributionYears', undefined) },
    ...Array.from(
      { length: L },
      (_, i): Edit => ({
        label: `Rate of contribution (RC), fund year ${i + 1}`,
        value: 0.4,
        apply: set('contributionRates', rcArray([i + 1, 0.4])),
      }),
    ),
  ];

  it('the edits below cover every blue cell of the Inputs sheet; life, waterfall and currency are fixed', async () => {
    const sheets = await workbookOf(funds, base);
    expect(new Set(editableLabels(sheets))).toEqual(new Set(edits.map((e) => e.label)));
    const inputs = sheets.find((s) => s.name === 'Inputs')!;
    for (const label of ['Currency', 'Fund life (L)', 'Waterfall']) {
      const at = cellBeside(sheets, 'Inputs', label);
      expect(styleName(inputs.cells.find((c) => c.row === at.row && c.col === 1)!), label).toBe('fixed');
    }
  });

  const compare = (hf: HyperFormula, sheets: ReadSheet[], raw: Raw) => {
    const api = apiRun(funds, raw) as {
      metrics: Record<string, number | null>;
    };
    const m = api.metrics;
    const commitment = (raw['commitment'] as number | undefined) ?? 100_000_000;
    expectClose(read(hf, sheets, 'Summary', 'Paid-in (contributions + fees)'), m['paidIn']!, 'paid-in');
    expectClose(read(hf, sheets, 'Summary', 'Distributions'), m['distributions']!, 'distributions');
    expectClose(read(hf, sheets, 'Summary', 'Remaining NAV'), m['nav']!, 'NAV', commitment);
    expectClose(read(hf, sheets, 'Summary', 'TVPI'), m['tvpi']!, 'TVPI');
    expectClose(read(hf, sheets, 'Summary', 'DPI'), m['dpi']!, 'DPI');
    expectClose(read(hf, sheets, 'Summary', 'Net IRR (annual)'), m['netIrr']!, 'net IRR');
    expectClose(read(hf, sheets, 'Summary', 'Gross IRR (annual)'), m['grossIrr']!, 'gross IRR');
    expectClose(read(hf, sheets, 'Summary', 'Management fees'), m['totalFees']!, 'fees');
    expectClose(read(hf, sheets, 'Summary', 'Carried interest'), m['totalCarry']!, 'carry', commitment);
    expectClose(read(hf, sheets, 'Summary', 'Peak capital at risk'), m['peakCapitalAtRisk']!, 'peak');
    expect(read(hf, sheets, 'Summary', 'Break-even year')).toBe(m['breakEvenYear'] ?? 'not reached');
    expect(read(hf, sheets, 'Checks', 'All checks pass')).toBe(true);
  };

  for (const e of edits) {
    it(`${e.label} → ${e.value}`, async () => {
      const sheets = await workbookOf(funds, base);
      const at = cellBeside(sheets, 'Inputs', e.label);
      const hf = edited(sheets, [{ sheet: 'Inputs', ...at, value: e.value }]);
      compare(hf, sheets, e.apply(base));
      hf.destroy();
    });
  }

  for (const waterfall of ['european', 'american'] as const) {
    it(`${waterfall}: periods per year 4 → 1 and 1 → 4 distribute all NAV, as the API`, async () => {
      for (const [from, to] of [
        [4, 1],
        [1, 4],
      ] as const) {
        const raw: Raw = {
          ...base,
          periodsPerYear: from,
          carry: { rate: 0.2, hurdleRate: 0.08, catchUp: 1, waterfall },
        };
        const sheets = await workbookOf(funds, raw);
        const at = cellBeside(sheets, 'Inputs', 'Periods per year');
        const hf = edited(sheets, [{ sheet: 'Inputs', ...at, value: to }]);
        compare(hf, sheets, { ...raw, periodsPerYear: to });
        hf.destroy();
      }
    });
  }

  // Session 20: a fund with no net IRR (growth −50 % a year: every net flow to LPs is negative, irr_none) had
  // the static text "n/a" in the Summary, which stayed "n/a" after an edit gave the flows an IRR; the other
  // way, a formula IRR edited into flows without one was #NUM!. Both directions, both IRRs, against the API.
  it('an IRR the model has none for reads n/a and follows an edit that gives one (and back)', async () => {
    const losing: Raw = { ...base, growthRate: -0.5 };
    const without = await workbookOf(funds, losing);
    const noIrr = loadIntoEngine(without);
    expect(apiRun(funds, losing)['metrics']).toMatchObject({ netIrr: Number.NaN });
    expect(read(noIrr, without, 'Summary', 'Net IRR (annual)')).toBe('n/a');
    noIrr.destroy();
    const growth = cellBeside(without, 'Inputs', 'Growth rate (G)');
    const gains = edited(without, [{ sheet: 'Inputs', ...growth, value: 0.13 }]);
    compare(gains, without, { ...base, growthRate: 0.13 });
    gains.destroy();
    const withIrr = await workbookOf(funds, base);
    const loses = edited(withIrr, [{ sheet: 'Inputs', ...growth, value: -0.5 }]);
    expect(read(loses, withIrr, 'Summary', 'Net IRR (annual)')).toBe('n/a');
    loses.destroy();
  });
});

describe('Checks follow edits that break an identity', () => {
  it('finance: a free cash flow typed over turns its check and the Summary flag FALSE', async () => {
    const sheets = await workbookOf(finance, {});
    expect(read(loadIntoEngine(sheets), sheets, 'Summary', 'Model checks pass (see Checks)')).toBe(true);
    const dcf = sheets.find((s) => s.name === 'DCF')!;
    const fcfRow = dcf.cells.find((c) => c.col === 0 && c.value === 'Free cash flow')!.row;
    const hf = edited(sheets, [{ sheet: 'DCF', row: fcfRow, col: 3, value: 1 }]);
    expect(read(hf, sheets, 'Summary', 'Model checks pass (see Checks)')).toBe(false);
    expect(
      read(hf, sheets, 'Checks', 'Free cash flow = NOPAT + D&A − capex − change in NWC (all years)'),
    ).toBe(false);
    hf.destroy();
  });

  it('finance: projection years past the sheet (31) and a loan term past 600 are flagged', async () => {
    const sheets = await workbookOf(finance, {
      loan: { principal: 1e6, annualRate: 0.05, termMonths: 60, startDate: '2025-01-01' },
    });
    const hf = edited(sheets, [
      { sheet: 'Inputs', ...cellBeside(sheets, 'Inputs', 'Projection years'), value: 31 },
      { sheet: 'Inputs', ...cellBeside(sheets, 'Inputs', 'Loan term'), value: 601 },
    ]);
    const checks = sheets.find((s) => s.name === 'Checks')!;
    const falses = checks.cells
      .filter((c) => c.col === 1 && c.formula && c.row > 5)
      .filter((c) => hf.getCellValue({ sheet: hf.getSheetId('Checks')!, row: c.row, col: 1 }) === false)
      .map((c) => checks.cells.find((l) => l.row === c.row && l.col === 0)!.value);
    expect(falses).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Projection years/),
        expect.stringMatching(/^Loan term/),
      ]),
    );
    expect(read(hf, sheets, 'Summary', 'Model checks pass (see Checks)')).toBe(false);
    hf.destroy();
  });

  // Session 19: per-year growth typed for 3 years, Projection years raised to 5: years 4 and 5 grew at 0 (blank
  // cells) with every check TRUE, though the API refuses 5 years with 3 rates.
  it('finance: Projection years past the per-year growth rates typed is flagged', async () => {
    const sheets = await workbookOf(finance, { years: 3, revenueGrowth: [0.1, 0.05, 0.02] });
    const years = { sheet: 'Inputs', ...cellBeside(sheets, 'Inputs', 'Projection years') };
    const label = 'Revenue growth is given for every projected year (the DCF sheet, one rate per year)';
    const more = edited(sheets, [{ ...years, value: 5 }]);
    expect(read(more, sheets, 'Checks', label)).toBe(false);
    expect(read(more, sheets, 'Summary', 'Model checks pass (see Checks)')).toBe(false);
    more.destroy();
    const fewer = edited(sheets, [{ ...years, value: 2 }]);
    expect(read(fewer, sheets, 'Checks', 'All checks pass')).toBe(true);
    fewer.destroy();
    const dcf = sheets.find((s) => s.name === 'DCF')!;
    const growthRow = dcf.cells.find((c) => c.col === 0 && c.value === 'Revenue growth')!.row;
    const typed = edited(sheets, [
      { ...years, value: 5 },
      { sheet: 'DCF', row: growthRow, col: 5, value: 0.01 },
      { sheet: 'DCF', row: growthRow, col: 6, value: 0.01 },
    ]);
    expect(read(typed, sheets, 'Checks', 'All checks pass')).toBe(true);
    typed.destroy();
  });

  // Session 18: pairs of inputs the API refuses together but Excel's per-cell validation cannot hold (a
  // step-down year without its rate; every call rate 0 with the last contribution year cleared).
  const CAPITAL_CALLED =
    'Capital is called: contributions over the fund life above 0 (a contribution rate that calls some, or a last contribution year)';
  it('funds: a fee step-down half set, or no capital called, is flagged', async () => {
    const sheets = await workbookOf(funds, {
      fundLifeYears: 12,
      contributionRates: [0.3],
      contributionYears: 5,
    });
    const rc = Array.from({ length: 12 }, (_, i) => ({
      sheet: 'Inputs',
      ...cellBeside(sheets, 'Inputs', `Rate of contribution (RC), fund year ${i + 1}`),
      value: 0,
    }));
    const flag = (hf: HyperFormula, label: string) => read(hf, sheets, 'Checks', label);
    const half = edited(sheets, [
      { sheet: 'Inputs', ...cellBeside(sheets, 'Inputs', 'Fee step-down after fund year'), value: 5 },
    ]);
    expect(flag(half, 'Fee step-down: the year and the rate after it are both set, or both blank')).toBe(
      false,
    );
    expect(flag(half, 'All checks pass')).toBe(false);
    half.destroy();
    const none = edited(sheets, [
      ...rc,
      { sheet: 'Inputs', ...cellBeside(sheets, 'Inputs', 'Last contribution year'), value: null },
    ]);
    expect(flag(none, CAPITAL_CALLED)).toBe(false);
    none.destroy();
    const fine = edited(sheets, rc);
    expect(flag(fine, 'All checks pass')).toBe(true);
    fine.destroy();
  });

  // Session 19: the tolerance was 1e-9 · MAX(1, |a|, |b|), so in a workbook whose money is all 0.001 an error
  // a million times its rounding (1e-6 relative) stayed within the floor of 1 and every check passed.
  const tinyFinance = {
    revenue: 0.001,
    netDebt: 0.0002,
    loan: { principal: 0.001, annualRate: 0.05, termMonths: 24, startDate: '2025-01-01' },
  };
  it('finance with tiny money (0.001): untouched every check holds; a free cash flow 1e-6 off is flagged', async () => {
    const sheets = await workbookOf(finance, tinyFinance);
    const checks = sheets.find((s) => s.name === 'Checks')!;
    const untouched = loadIntoEngine(sheets);
    const failing = checks.cells
      .filter((c) => c.col === 1 && c.formula && c.row > 5)
      .filter(
        (c) =>
          untouched.getCellValue({ sheet: untouched.getSheetId('Checks')!, row: c.row, col: 1 }) !== true,
      );
    expect(failing).toEqual([]);
    untouched.destroy();
    const dcf = sheets.find((s) => s.name === 'DCF')!;
    const fcfRow = dcf.cells.find((c) => c.col === 0 && c.value === 'Free cash flow')!.row;
    const fcf = dcf.cells.find((c) => c.row === fcfRow && c.col === 3)!.value as number;
    expect(Math.abs(fcf)).toBeLessThan(0.001);
    const hf = edited(sheets, [{ sheet: 'DCF', row: fcfRow, col: 3, value: fcf * (1 + 1e-6) }]);
    expect(
      read(hf, sheets, 'Checks', 'Free cash flow = NOPAT + D&A − capex − change in NWC (all years)'),
    ).toBe(false);
    expect(read(hf, sheets, 'Summary', 'Model checks pass (see Checks)')).toBe(false);
    hf.destroy();
  });

  it('funds with tiny money (commitment 0.001): a NAV 1e-6 off is flagged, untouched all pass', async () => {
    const sheets = await workbookOf(funds, { commitment: 0.001 });
    const untouched = loadIntoEngine(sheets);
    expect(read(untouched, sheets, 'Checks', 'All checks pass')).toBe(true);
    untouched.destroy();
    const flows = sheets.find((s) => s.name === 'Cash flows')!;
    const navCol = flows.cells.find((c) => c.row === 4 && c.value === 'NAV')!.col;
    const nav = flows.cells.find((c) => c.row === 8 && c.col === navCol)!.value as number;
    const hf = edited(sheets, [{ sheet: 'Cash flows', row: 8, col: navCol, value: nav * (1 + 1e-6) }]);
    expect(
      read(
        hf,
        sheets,
        'Checks',
        'NAV = contributions − distributions + growth of NAV (summed over the periods)',
      ),
    ).toBe(false);
    hf.destroy();
  });

  it('funds: a NAV typed over breaks the NAV identity', async () => {
    const sheets = await workbookOf(funds, {});
    const flows = sheets.find((s) => s.name === 'Cash flows')!;
    const navCol = flows.cells.find((c) => c.row === 4 && c.value === 'NAV')!.col;
    const hf = edited(sheets, [{ sheet: 'Cash flows', row: 8, col: navCol, value: 1_000_000 }]);
    expect(
      read(
        hf,
        sheets,
        'Checks',
        'NAV = contributions − distributions + growth of NAV (summed over the periods)',
      ),
    ).toBe(false);
    expect(read(hf, sheets, 'Checks', 'All checks pass')).toBe(false);
    hf.destroy();
  });
});
