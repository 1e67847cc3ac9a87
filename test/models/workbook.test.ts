import { strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { Formatting } from '../../src/core/tenant.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import type { ModelDefinition } from '../../src/models/types.ts';
import { loadIntoEngine } from './engine.ts';
import { recomputeAndCompare } from './recompute.ts';
import { type ReadSheet, readXlsx } from './xlsx-read.ts';

// 1×1 transparent PNG.
const LOGO = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

async function render(model: ModelDefinition, raw: object, formatting: Formatting = {}) {
  const { effectiveInput } = resolveInput(model, {}, raw);
  const result = model.run(effectiveInput, {});
  return { bytes: await model.workbook(result, effectiveInput, formatting), result };
}

const finance = getModel('finance');
const funds = getModel('funds');

describe('workbooks recompute to the model numbers in an independent engine (HyperFormula)', () => {
  it('finance with a 30-year monthly loan, per-year growth, mid-year discounting', async () => {
    const { bytes } = await render(finance, {
      years: 4,
      revenueGrowth: [0.2, 0.1, -0.05, 0.03],
      discounting: 'mid-year',
      netDebt: 250_000,
      sharesOutstanding: 1000,
      loan: { principal: 500_000, annualRate: 0.055, termMonths: 360, startDate: '2025-01-31' },
    });
    expect(recomputeAndCompare(bytes)).toBeGreaterThan(360 * 6);
  });

  // 1e-9 and 1e-15 a year: the Loan sheet's closed form once lost the digits 1 + r rounds away (1e-9: every
  // month's principal wrong in the 8th digit; 1e-15: 1 + r = 1, every balance #DIV/0!).
  for (const annualRate of [0, 1, 1e-9, 1e-15]) {
    it(`a 600-month loan at ${annualRate * 100} % recomputes to the model and closes at exactly 0`, async () => {
      const loan = { principal: 1_000_000, annualRate, termMonths: 600, startDate: '2025-01-31' };
      const { bytes } = await render(finance, { loan });
      expect(recomputeAndCompare(bytes)).toBeGreaterThan(600 * 6);
      const sheet = readXlsx(bytes).sheets.find((s) => s.name === 'Loan')!;
      const lastRow = Math.max(...sheet.cells.map((c) => c.row));
      expect(sheet.cells.find((c) => c.row === lastRow && c.col === 6)!.value).toBe(0);
    });
  }

  // Revenue 0 (allowed) or no cash margin makes EV 0: the share of EV was 0 / 0, an empty cell that Excel,
  // LibreOffice and HyperFormula recalculate to #DIV/0!; a negative EV gave a meaningless share.
  for (const raw of [
    { revenue: 0 },
    { ebitdaMargin: 0, depreciationPctRevenue: 0, capexPctRevenue: 0, nwcPctRevenue: 0 },
    { ebitdaMargin: -0.5 },
  ]) {
    it(`finance with EV ${JSON.stringify(raw)} not positive: the terminal value share reads n/a`, async () => {
      const { bytes, result } = await render(finance, raw);
      expect((result as { enterpriseValue: number }).enterpriseValue).toBeLessThanOrEqual(0);
      recomputeAndCompare(bytes);
      const summary = readXlsx(bytes).sheets.find((s) => s.name === 'Summary')!;
      const row = summary.cells.find((c) => c.col === 0 && c.value === 'Terminal value share of EV')!.row;
      expect(summary.cells.find((c) => c.row === row && c.col === 1)!.value).toBe('n/a');
    });
  }

  it('finance on defaults', async () => {
    expect(recomputeAndCompare((await render(finance, {})).bytes)).toBeGreaterThan(50);
  });

  for (const waterfall of ['european', 'american'] as const) {
    for (const periodsPerYear of [1, 4] as const) {
      it(`funds, ${waterfall} waterfall, ${periodsPerYear} period(s) a year, fee step-down and NAV basis`, async () => {
        const { bytes } = await render(funds, {
          periodsPerYear,
          contributionYears: 5,
          managementFee: {
            rate: 0.02,
            basis: periodsPerYear === 4 ? 'nav' : 'invested',
            stepDownAfterYear: 6,
            stepDownRate: 0.01,
          },
          carry: { rate: 0.2, hurdleRate: 0.08, catchUp: 0.8, waterfall },
        });
        expect(recomputeAndCompare(bytes)).toBeGreaterThan(12 * periodsPerYear * 30);
      });
    }
  }

  // Issue 13, items 4 and 6: losing funds, whose flows have two IRRs or whose gross IRR Newton from 0
  // missed (#NUM!). The IRR solver's bracket leads the engine to the model's root.
  for (const growthRate of [-0.1, -0.3, -0.6]) {
    for (const periodsPerYear of [1, 4] as const) {
      it(`a losing fund (growth ${growthRate}, ${periodsPerYear} period(s) a year): IRR cells agree with the API`, async () => {
        const { bytes, result } = await render(funds, { growthRate, periodsPerYear });
        expect(recomputeAndCompare(bytes)).toBeGreaterThan(12 * periodsPerYear * 30);
        const summary = readXlsx(bytes).sheets.find((s) => s.name === 'Summary')!;
        const metrics = (result as { metrics: { netIrr: number; grossIrr: number } }).metrics;
        const line = (label: string) =>
          summary.cells.find((c) => c.col === 1 && c.row === rowOf(summary, label))!;
        const irrCells = [line('Net IRR (annual)'), line('Gross IRR (annual)')];
        expect(irrCells.every((c) => c.formula !== undefined)).toBe(true);
        // Both are formulas; one the model has none for reads "n/a" (and recomputes to it, above).
        expect(irrCells.map((c) => c.value)).toEqual(
          [metrics.netIrr, metrics.grossIrr].map((x) => (Number.isFinite(x) ? x : 'n/a')),
        );
        expect(metrics.grossIrr).toBeCloseTo(growthRate, 9);
      });
    }
  }

  it('the IRR cells hold the model IRR', async () => {
    const { bytes, result } = await render(funds, { periodsPerYear: 4 });
    const summary = readXlsx(bytes).sheets.find((s) => s.name === 'Summary')!;
    const irrCell = summary.cells.find((c) => c.col === 1 && c.row === rowOf(summary, 'Net IRR (annual)'))!;
    expect(irrCell.formula).toBeDefined();
    expect(irrCell.value).toBe((result as { metrics: { netIrr: number } }).metrics.netIrr);
  });
});

describe('finance Summary checks (issue 13, kind 8)', () => {
  const flat = {
    revenue: 1000,
    revenueGrowth: 0,
    ebitdaMargin: 0.3,
    depreciationPctRevenue: 0.05,
    capexPctRevenue: 0.05,
    nwcPctRevenue: 0,
    taxRate: 0.25,
    discountRate: 0.1,
    terminalGrowth: 0,
  };
  const checks = (sheets: ReadSheet[]) =>
    sheets
      .find((s) => s.name === 'Summary')!
      .cells.filter((c) => c.col === 0 && c.formula?.startsWith('IF('));

  it('show the API warnings, recompute to them, and follow an edited input', async () => {
    const { bytes, result } = await render(finance, { ...flat, years: 1 });
    const { sheets } = readXlsx(bytes);
    const texts = checks(sheets).map((c) => c.value);
    expect(texts[0]).toMatch(/over 85 % of enterprise value/);
    // The loss checks and (session 19) equity not positive under net debt: blank.
    expect(texts.slice(1)).toEqual(['', '', '']);
    expect((result as { warnings: unknown[] }).warnings).toHaveLength(1);
    expect(recomputeAndCompare(bytes)).toBeGreaterThan(20);
    // An analyst raises the EBITDA margin to -10 % in the workbook: both loss checks light up.
    const hf = loadIntoEngine(sheets);
    const inputs = sheets.find((s) => s.name === 'Inputs')!;
    const margin = inputs.cells.find((c) => c.value === 'EBITDA margin')!;
    hf.setCellContents({ sheet: hf.getSheetId('Inputs')!, row: margin.row, col: 1 }, -0.1);
    const summary = hf.getSheetId('Summary')!;
    const after = checks(sheets).map((c) => hf.getCellValue({ sheet: summary, row: c.row, col: c.col }));
    hf.destroy();
    expect(after[1]).toMatch(/terminal value is negative: the last free cash flow/);
    expect(after[2]).toMatch(/not positive/);
    // EV is negative, so the equity line (net debt above a positive EV) stays blank.
    expect(after[3]).toBe('');
  });

  it('funds: several IRRs are listed on the Summary', async () => {
    const { bytes } = await render(funds, { growthRate: -0.1 });
    const summary = readXlsx(bytes).sheets.find((s) => s.name === 'Summary')!;
    expect(summary.cells.some((c) => typeof c.value === 'string' && /have 2 IRRs/.test(c.value))).toBe(true);
  });
});

describe('tenant formatting', () => {
  const input = { revenue: 2_000_000 };
  const acme: Formatting = {
    companyName: 'Acme & Söhne',
    currency: 'EUR',
    locale: 'de-DE',
    brandColor: 'AA3300',
    dateFormat: 'dd.mm.yyyy',
    logoPng: LOGO,
    sheetNames: { Inputs: 'Eingaben', Summary: "Übersicht's" },
  };

  it('two tenants get the same numbers in differently formatted workbooks', async () => {
    const plain = readXlsx((await render(finance, input)).bytes);
    const branded = readXlsx((await render(finance, { ...input, currency: 'EUR' }, acme)).bytes);
    const values = (w: typeof plain) =>
      w.sheets.flatMap((s) => s.cells.filter((c) => typeof c.value === 'number').map((c) => c.value));
    expect(values(branded)).toEqual(values(plain));
    expect(branded.sheets.map((s) => s.name)).toEqual(['Eingaben', 'DCF', "Übersicht's", 'Checks']);
    const styles = strFromU8(branded.files['xl/styles.xml']!);
    expect(styles).toContain('FFAA3300');
    expect(styles).toContain('dd.mm.yyyy');
    expect(styles).toMatch(/#,##0\.00 &quot;€&quot;/);
    expect(branded.sheets[0]!.cells[0]!.value).toBe('Acme & Söhne');
    expect(Object.keys(branded.files)).toContain('xl/media/image1.png');
    // Formulas follow the renamed sheets.
    expect(
      recomputeAndCompare((await render(finance, { ...input, currency: 'EUR' }, acme)).bytes),
    ).toBeGreaterThan(50);
  });

  it('has a chart part wired to the free cash flow row', async () => {
    const { files } = readXlsx((await render(finance, input)).bytes);
    const chart = strFromU8(files['xl/charts/chart1.xml']!);
    expect(chart).toContain('<c:barChart>');
    // Every column the DCF holds (30 years); the chart leaves out the hidden ones past the run.
    expect(chart).toContain('&apos;DCF&apos;!$C$17:$AF$17');
    expect(strFromU8(files['[Content_Types].xml']!)).toContain('/xl/charts/chart1.xml');
  });
});

/** The row of a sheet's line labelled `label` in column A. */
function rowOf(sheet: { cells: { row: number; col: number; value?: unknown }[] }, label: string): number {
  return sheet.cells.find((c) => c.col === 0 && c.value === label)!.row;
}
