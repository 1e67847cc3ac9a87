import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import type { Formatting } from '../../src/core/tenant.ts';
import { runFunds } from '../../src/models/funds/run.ts';
import type { FundsInput } from '../../src/models/funds/schema.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { STYLE_ORDER } from '../../src/models/xlsx/styles.ts';
import { fee, fund, SUMMARY_IRRS } from './funds-raw.ts';
import { irrByBisection } from './irr-bisection.ts';
import { readXlsx } from './xlsx-read.ts';

// The outside check the issue asks for: a real spreadsheet application recalculates our workbooks.
// Every cached formula value is removed first, so LibreOffice must compute each one itself.
const SOFFICE = '/usr/bin/soffice';
const hasSoffice = existsSync(SOFFICE);
const work = mkdtempSync(join(tmpdir(), 'silopool-lo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function withoutCachedFormulaValues(bytes: Uint8Array): Uint8Array {
  const files = unzipSync(bytes);
  for (const name of Object.keys(files)) {
    if (!/^xl\/worksheets\/sheet\d+\.xml$/.test(name)) continue;
    const xml = strFromU8(files[name]!).replace(/(<f>[^<]*<\/f>)<v>[^<]*<\/v>/g, '$1');
    files[name] = strToU8(xml);
  }
  return zipSync(files);
}

/** LibreOffice opens the workbook (so it computes every formula) and saves it again as xlsx. */
function recalculateWithLibreOffice(name: string, bytes: Uint8Array): Map<string, Map<string, unknown>> {
  return recalculateAllWithLibreOffice([{ name, bytes }]).get(name)!;
}

/** The folder of the workbooks LibreOffice saved in its last start (to read more than numbers from them). */
let lastOutDir = '';

/** Several workbooks in one LibreOffice start (most of its time), each recalculated as above. */
function recalculateAllWithLibreOffice(
  books: { name: string; bytes: Uint8Array }[],
): Map<string, Map<string, Map<string, unknown>>> {
  const dir = mkdtempSync(join(work, 'batch-'));
  const inputs = books.map(({ name, bytes }) => {
    const input = join(dir, `${name}.xlsx`);
    writeFileSync(input, withoutCachedFormulaValues(bytes));
    return input;
  });
  execFileSync(
    SOFFICE,
    [
      `-env:UserInstallation=file://${join(dir, 'profile')}`,
      '--headless',
      '--convert-to',
      'xlsx:Calc MS Excel 2007 XML',
      '--outdir',
      join(dir, 'out'),
      ...inputs,
    ],
    { stdio: 'pipe', timeout: 120_000 * books.length },
  );
  lastOutDir = join(dir, 'out');
  return new Map(
    books.map(({ name }) => [name, numericCells(readFileSync(join(dir, 'out', `${name}.xlsx`)))]),
  );
}

/** Numeric cell values by sheet name and `row:col`, read leniently (LibreOffice orders attributes its own way). */
function numericCells(bytes: Uint8Array): Map<string, Map<string, unknown>> {
  const files = unzipSync(bytes);
  const workbook = strFromU8(files['xl/workbook.xml']!);
  const rels = strFromU8(files['xl/_rels/workbook.xml.rels']!);
  const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
  const sheets = new Map<string, Map<string, unknown>>();
  for (const [tag] of workbook.matchAll(/<sheet\b[^>]*>/g)) {
    const id = attr(tag, 'r:id')!;
    const rel = [...rels.matchAll(/<Relationship\b[^>]*>/g)].find((r) => attr(r[0], 'Id') === id)![0];
    const target = attr(rel, 'Target')!.replace(/^\/?xl\//, '');
    const xml = strFromU8(files[`xl/${target}`]!);
    const cells = new Map<string, unknown>();
    for (const m of xml.matchAll(/<c\b([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const type = attr(m[1]!, 't');
      const v = /<v>([^<]*)<\/v>/.exec(m[2] ?? '')?.[1];
      if (v === undefined || (type !== undefined && type !== 'n')) continue;
      const ref = /^([A-Z]+)(\d+)$/.exec(attr(m[1]!, 'r')!)!;
      let col = 0;
      for (const ch of ref[1]!) col = col * 26 + (ch.charCodeAt(0) - 64);
      cells.set(`${Number(ref[2]) - 1}:${col - 1}`, Number(v));
    }
    sheets.set(attr(tag, 'name')!.replace(/&amp;/g, '&'), cells);
  }
  return sheets;
}

async function compare(modelName: string, raw: object, formatting: Formatting = {}): Promise<number> {
  const model = getModel(modelName);
  const { effectiveInput } = resolveInput(model, {}, raw);
  const bytes = await model.workbook(model.run(effectiveInput, {}), effectiveInput, formatting);
  const { checked, mismatches } = mismatchesOf(bytes, recalculateWithLibreOffice(modelName, bytes));
  expect(mismatches.slice(0, 10)).toEqual([]);
  return checked;
}

const isMoney = (style: number) => (STYLE_ORDER[style] ?? 'default').startsWith('money');

/**
 * Each formula cell of our workbook against LibreOffice's value for it (an error cell is a mismatch). Money is
 * compared relative to the money the workbook holds, never to a floor of 1: with the floor a workbook of
 * tiny money (0.001) passed a cell off by 1e-9, a millionth of its value (session 19).
 */
function mismatchesOf(bytes: Uint8Array, theirs: Map<string, Map<string, unknown>>) {
  let checked = 0;
  const mismatches: string[] = [];
  const ours = readXlsx(bytes).sheets;
  // Figures that cancel to zero (a repaid balance, a fully called commitment) differ by rounding noise:
  // LibreOffice snaps such differences to exactly 0, so they are compared against the workbook's scale,
  // money against its largest money figure (dates and years would make a tiny-money workbook's scale 46,000).
  const largestOf = (keep: (style: number) => boolean) =>
    Math.max(
      0,
      ...ours.flatMap((s) =>
        s.cells.map((c) => (typeof c.value === 'number' && keep(c.style) ? Math.abs(c.value) : 0)),
      ),
    );
  const largest = largestOf(() => true);
  const largestMoney = largestOf(isMoney);
  for (const sheet of ours) {
    const computed = theirs.get(sheet.name);
    expect(computed, `LibreOffice saved sheet ${sheet.name}`).toBeDefined();
    for (const cell of sheet.cells) {
      if (cell.formula === undefined || typeof cell.value !== 'number') continue;
      const value = computed!.get(`${cell.row}:${cell.col}`);
      const money = isMoney(cell.style);
      const scale = money ? Math.abs(cell.value) : Math.max(1, Math.abs(cell.value));
      const diff = typeof value === 'number' ? Math.abs(value - cell.value) : Number.NaN;
      if (!(diff <= 1e-9 * scale || diff <= 1e-13 * (money ? largestMoney : largest))) {
        const where = `${sheet.name}!R${cell.row + 1}C${cell.col + 1}`;
        mismatches.push(`${where} ${cell.formula}: ours ${cell.value}, LibreOffice ${String(value)}`);
      }
      checked++;
    }
  }
  return { checked, mismatches };
}

/** The workbook with one Inputs cell (found by its label in column A) set to `value`, as if typed in. */
function withInputEdited(bytes: Uint8Array, label: string, value: number): Uint8Array {
  const inputs = readXlsx(bytes).sheets.find((s) => s.name === 'Inputs')!;
  const row = inputs.cells.find((c) => c.col === 0 && c.value === label)!.row + 1;
  const files = unzipSync(bytes);
  const xml = strFromU8(files['xl/worksheets/sheet1.xml']!);
  const edited = xml.replace(new RegExp(`(<c r="B${row}"[^>]*>)<v>[^<]*</v>`), `$1<v>${value}</v>`);
  expect(edited).not.toBe(xml);
  files['xl/worksheets/sheet1.xml'] = strToU8(edited);
  return zipSync(files);
}

/** The workbook with a formula cell of sheet `name` (`ref`, "D12") replaced by a typed `value`. */
function withCellTyped(bytes: Uint8Array, name: string, ref: string, value: number): Uint8Array {
  const files = unzipSync(bytes);
  const file = sheetFile(files, name);
  const xml = strFromU8(files[file]!);
  const edited = xml.replace(
    new RegExp(`(<c r="${ref}"[^>]*>)<f>[^<]*</f>(<v>[^<]*</v>)?`),
    `$1<v>${value}</v>`,
  );
  expect(edited).not.toBe(xml);
  files[file] = strToU8(edited);
  return zipSync(files);
}

/** The zip entry of the sheet named `name` (through workbook.xml and its relationships). */
function sheetFile(files: Record<string, Uint8Array>, name: string): string {
  const workbook = strFromU8(files['xl/workbook.xml']!);
  const rels = strFromU8(files['xl/_rels/workbook.xml.rels']!);
  const tag = [...workbook.matchAll(/<sheet\b[^>]*>/g)].find((m) => m[0].includes(`name="${name}"`))![0];
  const id = /\br:id="([^"]*)"/.exec(tag)![1]!;
  const rel = [...rels.matchAll(/<Relationship\b[^>]*>/g)].find((m) => m[0].includes(`Id="${id}"`))![0];
  return `xl/${/\bTarget="([^"]*)"/.exec(rel)![1]!.replace(/^\/?xl\//, '')}`;
}

/** The text results of formula cells (`t="str"`) of one sheet of a workbook LibreOffice saved, by `row:col`. */
function textResults(path: string, name: string): Map<string, string> {
  const files = unzipSync(readFileSync(path));
  const xml = strFromU8(files[sheetFile(files, name)]!);
  const texts = new Map<string, string>();
  for (const m of xml.matchAll(/<c\b([^>]*?)>([\s\S]*?)<\/c>/g)) {
    if (!/\bt="str"/.test(m[1]!)) continue;
    const ref = /\br="([A-Z]+)(\d+)"/.exec(m[1]!)!;
    let col = 0;
    for (const ch of ref[1]!) col = col * 26 + (ch.charCodeAt(0) - 64);
    texts.set(`${Number(ref[2]) - 1}:${col - 1}`, /<v>([^<]*)<\/v>/.exec(m[2]!)?.[1] ?? '');
  }
  return texts;
}

/** LibreOffice's value of the Checks sheet's "All checks pass" flag (B4) in a workbook it saved. */
function checksFlag(path: string): boolean | undefined {
  const files = unzipSync(readFileSync(path));
  const xml = strFromU8(files[sheetFile(files, 'Checks')]!);
  const cell = /<c r="B4"([^>]*)>([\s\S]*?)<\/c>/.exec(xml);
  if (!cell || !/t="b"/.test(cell[1]!)) return undefined;
  return /<v>1<\/v>/.test(cell[2]!);
}

/** Issue 13, kind 3: an input edited in the file, recalculated by LibreOffice, against the API run of that input. */
async function compareEdited(
  modelName: string,
  raw: Record<string, unknown>,
  edit: { label: string; value: number },
  editedRaw: Record<string, unknown>,
  figures: [string, (result: never) => number][],
) {
  const model = getModel(modelName);
  const { effectiveInput } = resolveInput(model, {}, raw);
  const bytes = withInputEdited(
    await model.workbook(model.run(effectiveInput, {}), effectiveInput, {}),
    edit.label,
    edit.value,
  );
  const theirs = recalculateWithLibreOffice(`${modelName}-edited`, bytes).get('Summary')!;
  const summary = readXlsx(bytes).sheets.find((s) => s.name === 'Summary')!;
  const api = model.run(resolveInput(model, {}, editedRaw).effectiveInput, {}) as never;
  for (const [label, figure] of figures) {
    const row = summary.cells.find((c) => c.col === 0 && c.value === label)!.row;
    const got = theirs.get(`${row}:1`) as number;
    const want = figure(api);
    expect(Math.abs(got - want), `${label}: LibreOffice ${got}, API ${want}`).toBeLessThanOrEqual(
      1e-6 * Math.max(1, Math.abs(want)),
    );
  }
}

const rate = (min: number, max: number) => fc.double({ min, max, noNaN: true });
const money = (max: number) => fc.oneof(fc.constant(max), fc.double({ min: 0, max, noNaN: true }));
const isoDate = fc
  .date({ min: new Date('1900-03-01T00:00:00Z'), max: new Date('2200-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));

const randomFinance = fc.record(
  {
    years: fc.integer({ min: 1, max: 30 }),
    revenue: money(1e15),
    revenueGrowth: rate(-0.99, 1),
    ebitdaMargin: rate(-1, 1),
    depreciationPctRevenue: rate(0, 1),
    capexPctRevenue: rate(0, 1),
    nwcPctRevenue: rate(-1, 1),
    taxRate: rate(0, 1),
    discountRate: rate(0, 1),
    terminalGrowth: rate(-0.5, 0.5),
    terminalMethod: fc.constantFrom('gordon', 'exitMultiple'),
    exitMultiple: rate(0, 100),
    discounting: fc.constantFrom('end-year', 'mid-year'),
    netDebt: rate(-1e15, 1e15),
    sharesOutstanding: rate(1e-6, 1e15),
    loan: fc.record({
      principal: rate(1e-6, 1e15),
      annualRate: rate(0, 1),
      termMonths: fc.integer({ min: 1, max: 600 }),
      startDate: isoDate,
    }),
  },
  { requiredKeys: ['years', 'revenue', 'discountRate', 'terminalGrowth', 'terminalMethod'] },
);

const randomFunds = fc.record(
  {
    commitment: rate(1, 1e13),
    fundLifeYears: fc.integer({ min: 1, max: 15 }),
    contributionRates: rate(0.01, 1),
    bow: rate(0, 20),
    growthRate: rate(-0.99, 2),
    yield: rate(0, 1),
    periodsPerYear: fc.constantFrom(1, 4),
    managementFee: fc.record({
      rate: rate(0, 0.1),
      basis: fc.constantFrom('committed', 'invested', 'nav'),
    }),
    carry: fc.record({
      rate: rate(0, 0.5),
      hurdleRate: rate(0, 0.5),
      catchUp: rate(0, 1),
      waterfall: fc.constantFrom('european', 'american'),
    }),
  },
  { requiredKeys: ['fundLifeYears', 'contributionRates', 'carry', 'managementFee'] },
);

describe.skipIf(!hasSoffice)(
  'workbooks recalculated by LibreOffice (needs /usr/bin/soffice; .ci/run installs it)',
  () => {
    it('finance with a 30-year monthly loan: every formula gives the model value', async () => {
      const checked = await compare('finance', {
        years: 30,
        revenueGrowth: 0.04,
        discounting: 'mid-year',
        netDebt: 250_000,
        sharesOutstanding: 1000,
        loan: { principal: 1_000_000, annualRate: 0.055, termMonths: 360, startDate: '2025-01-31' },
      });
      expect(checked).toBeGreaterThan(1000);
    }, 180_000);

    // The Loan sheet's balances at rates where 1 + r keeps few of r's digits (1e-9 a year), none (1e-15: the
    // literal (1 + r)^n − 1 was 0 and every balance #DIV/0!), or where r² underflows (1e-300 over one month).
    it('finance loans at tiny rates: every Loan formula gives the model value', async () => {
      for (const [annualRate, termMonths] of [
        [1e-9, 600],
        [1e-15, 360],
        [1e-300, 1],
      ] as const) {
        const loan = { principal: 1_000_000, annualRate, termMonths, startDate: '2025-01-31' };
        expect(await compare('finance', { loan })).toBeGreaterThan(4000);
      }
    }, 240_000);

    it('finance with an exit-multiple terminal value and sensitivity tables with "n/a" pairs: every formula gives the model value', async () => {
      const checked = await compare('finance', {
        terminalMethod: 'exitMultiple',
        exitMultiple: 1.5,
        discountRate: 0.03,
        terminalGrowth: 0.02,
        discounting: 'mid-year',
      });
      expect(checked).toBeGreaterThan(500);
    }, 180_000);

    it('funds, quarterly, european waterfall: every formula gives the model value', async () => {
      const checked = await compare('funds', { periodsPerYear: 4 }, { currency: 'EUR', locale: 'de-DE' });
      expect(checked).toBeGreaterThan(100);
    }, 180_000);

    it('funds with a Monte Carlo fan chart: the band widths and every other formula give the model value', async () => {
      const checked = await compare('funds', { simulations: 200, periodsPerYear: 4, fundLifeYears: 8 });
      expect(checked).toBeGreaterThan(100);
    }, 180_000);

    it('finance edited in the file (projection years 5 → 3, then loan term 360 → 240) gives the API numbers', async () => {
      const loan = { principal: 500_000, annualRate: 0.055, termMonths: 360, startDate: '2025-01-31' };
      type R = { enterpriseValue: number; loan: { payment: number; totalInterest: number } };
      await compareEdited(
        'finance',
        { years: 5, loan },
        { label: 'Projection years', value: 3 },
        { years: 3, loan },
        [['Enterprise value', (r: R) => r.enterpriseValue]],
      );
      await compareEdited(
        'finance',
        { loan },
        { label: 'Loan term', value: 240 },
        { loan: { ...loan, termMonths: 240 } },
        [
          ['Loan monthly payment', (r: R) => r.loan.payment],
          ['Loan total interest', (r: R) => r.loan.totalInterest],
        ],
      );
    }, 240_000);

    // Session 17: random inputs across the schemas' whole ranges (fixed seed, so a failure reproduces), every
    // workbook recalculated in one LibreOffice start; each formula must give the JSON's number, no error cell.
    it('random finance and funds inputs: every formula gives the model value', async () => {
      const books: { name: string; bytes: Uint8Array; raw: object }[] = [];
      for (const [modelName, arb] of [
        ['finance', randomFinance],
        ['funds', randomFunds],
      ] as [string, fc.Arbitrary<object>][]) {
        const model = getModel(modelName);
        const accepted = fc
          .sample(arb, { seed: 17, numRuns: 40 })
          .filter((raw) => {
            try {
              resolveInput(model, {}, raw);
              return true;
            } catch {
              return false;
            }
          })
          .slice(0, 3);
        expect(accepted.length, `${modelName}: inputs the API accepts`).toBe(3);
        for (const [i, raw] of accepted.entries()) {
          const { effectiveInput } = resolveInput(model, {}, raw);
          const bytes = await model.workbook(model.run(effectiveInput, {}), effectiveInput, {});
          books.push({ name: `${modelName}-${i}`, bytes, raw });
        }
      }
      const theirs = recalculateAllWithLibreOffice(books);
      for (const book of books) {
        const { checked, mismatches } = mismatchesOf(book.bytes, theirs.get(book.name)!);
        expect(mismatches.slice(0, 5), JSON.stringify(book.raw)).toEqual([]);
        expect(checked).toBeGreaterThan(100);
      }
    }, 600_000);

    // Session 19: money compared (and checked in the Checks sheet) relative to the money present, not to 1.
    it('tiny money (all 0.001): every formula gives the model value; a free cash flow 1e-6 off fails the Checks and the comparison', async () => {
      const raws = {
        finance: {
          revenue: 0.001,
          netDebt: 0.0002,
          loan: { principal: 0.001, annualRate: 0.05, termMonths: 24, startDate: '2025-01-31' },
        },
        funds: { commitment: 0.001, periodsPerYear: 4 },
      };
      const books = Object.entries(raws).map(([name, raw]) => {
        const model = getModel(name);
        const { effectiveInput } = resolveInput(model, {}, raw);
        return { name, model, effectiveInput };
      });
      const written = await Promise.all(
        books.map(async (b) => ({
          name: b.name,
          bytes: await b.model.workbook(b.model.run(b.effectiveInput, {}), b.effectiveInput, {}),
        })),
      );
      const dcf = readXlsx(written[0]!.bytes).sheets.find((x) => x.name === 'DCF')!;
      const fcfRow = dcf.cells.find((c) => c.col === 0 && c.value === 'Free cash flow')!.row;
      const fcf = dcf.cells.find((c) => c.row === fcfRow && c.col === 3)!;
      const off = (fcf.value as number) * (1 + 1e-6);
      const typedOver = withCellTyped(written[0]!.bytes, 'DCF', `D${fcfRow + 1}`, off);
      const theirs = recalculateAllWithLibreOffice([...written, { name: 'typed-over', bytes: typedOver }]);
      for (const book of written) {
        const { checked, mismatches } = mismatchesOf(book.bytes, theirs.get(book.name)!);
        expect(mismatches.slice(0, 5), book.name).toEqual([]);
        expect(checked).toBeGreaterThan(100);
      }
      expect(checksFlag(join(lastOutDir, 'finance.xlsx'))).toBe(true);
      expect(checksFlag(join(lastOutDir, 'funds.xlsx'))).toBe(true);
      expect(checksFlag(join(lastOutDir, 'typed-over.xlsx'))).toBe(false);
      // The same error as a recalculation would make it: LibreOffice's value of that cell 1e-6 off.
      const financeValues = new Map(
        [...theirs.get('finance')!].map(([sheet, cells]) => [sheet, new Map(cells)]),
      );
      financeValues.get('DCF')!.set(`${fcfRow}:3`, off);
      const { mismatches } = mismatchesOf(written[0]!.bytes, financeValues);
      expect(mismatches).toEqual([expect.stringMatching(new RegExp(`^DCF!R${fcfRow + 1}C4 `))]);
    }, 240_000);

    // Session 19: a finance user's edge inputs, each workbook recalculated by LibreOffice (its IRR, NPV and
    // every other function) against the model: zero and negative cash flows, an exit multiple of 0, discount
    // rate equal to terminal growth under the exit method, capex-heavy exits and negative EBITDA (implied
    // growth and multiple "n/a"), a 30-year horizon; a fund losing 99 % a year (no net IRR), fees of three
    // times the commitment on NAV and committed bases, an american waterfall quarterly over 30 years.
    it('edge inputs: every formula gives the model value, "n/a" where the model has none', async () => {
      const flat = { revenue: 1000, revenueGrowth: 0, nwcPctRevenue: 0 };
      const cases: [string, object][] = [
        ['finance', { revenue: 0 }],
        ['finance', { terminalMethod: 'exitMultiple', exitMultiple: 0 }],
        ['finance', { terminalMethod: 'exitMultiple', discountRate: 0.03, terminalGrowth: 0.03 }],
        ['finance', { ...flat, capexPctRevenue: 0.5, terminalMethod: 'exitMultiple', exitMultiple: 8 }],
        ['finance', { ebitdaMargin: -0.5, years: 30, discounting: 'mid-year' }],
        [
          'finance',
          {
            revenueGrowth: -0.5,
            nwcPctRevenue: 1,
            ebitdaMargin: -0.05,
            depreciationPctRevenue: 0,
            capexPctRevenue: 0,
          },
        ],
        ['funds', { growthRate: -0.99 }],
        ['funds', { fundLifeYears: 30, managementFee: { rate: 0.1, basis: 'committed' } }],
        ['funds', { fundLifeYears: 30, growthRate: 0.3, managementFee: { rate: 0.1, basis: 'nav' } }],
        [
          'funds',
          {
            fundLifeYears: 30,
            periodsPerYear: 4,
            carry: { rate: 0.3, hurdleRate: 0.5, catchUp: 0.5, waterfall: 'american' },
          },
        ],
      ];
      const books = await Promise.all(
        cases.map(async ([name, raw], i) => {
          const model = getModel(name);
          const { effectiveInput } = resolveInput(model, {}, raw);
          const bytes = await model.workbook(model.run(effectiveInput, {}), effectiveInput, {});
          return { name: `${name}-edge-${i}`, bytes, raw };
        }),
      );
      const theirs = recalculateAllWithLibreOffice(books);
      for (const book of books) {
        const { checked, mismatches } = mismatchesOf(book.bytes, theirs.get(book.name)!);
        expect(mismatches.slice(0, 5), JSON.stringify(book.raw)).toEqual([]);
        expect(checked).toBeGreaterThan(50);
        // A cell the model leaves "n/a" (null in the JSON) reads "n/a" in LibreOffice too.
        for (const sheet of readXlsx(book.bytes).sheets) {
          const texts = textResults(join(lastOutDir, `${book.name}.xlsx`), sheet.name);
          for (const c of sheet.cells)
            if (c.formula !== undefined && c.value === 'n/a') {
              expect(theirs.get(book.name)!.get(sheet.name)!.has(`${c.row}:${c.col}`), c.formula).toBe(false);
              expect(texts.get(`${c.row}:${c.col}`), c.formula).toBe('n/a');
            }
        }
      }
    }, 600_000);

    // Session 23: DPI, RVPI and TVPI over paid-in 0 were 0 in the JSON and the workbook (a fund that "lost
    // everything"). Now null and "n/a": the Summary of a fund that calls nothing (its rates round every call to
    // 0; the API refuses it, so it is run directly), and the per-period TVPI before the first call.
    it('funds with paid-in 0: LibreOffice reads "n/a" for the multiples where the JSON has null, every other formula the model value', async () => {
      const funds = getModel('funds');
      const late = resolveInput(
        funds,
        {},
        {
          contributionRates: [0, 0.5],
          periodsPerYear: 4,
          managementFee: { rate: 0.02, basis: 'invested' },
        },
      ).effectiveInput as FundsInput;
      const nothing: FundsInput = {
        ...(resolveInput(funds, {}, { managementFee: { rate: 0.02, basis: 'nav' } })
          .effectiveInput as FundsInput),
        contributionRates: 1e-17,
      };
      const books = await Promise.all(
        [late, nothing].map(async (input, i) => {
          const res = runFunds(input);
          return { name: `funds-paid-in-0-${i}`, res, bytes: await funds.workbook(res, input, {}) };
        }),
      );
      const summary = funds.summary(books[1]!.res, {}) as Record<string, unknown>;
      expect([summary['dpi'], summary['rvpi'], summary['tvpi']]).toEqual([null, null, null]);
      const theirs = recalculateAllWithLibreOffice(books);
      for (const [i, book] of books.entries()) {
        const { mismatches } = mismatchesOf(book.bytes, theirs.get(book.name)!);
        expect(mismatches.slice(0, 5), book.name).toEqual([]);
        let na = 0;
        for (const sheet of readXlsx(book.bytes).sheets) {
          const texts = textResults(join(lastOutDir, `${book.name}.xlsx`), sheet.name);
          for (const c of sheet.cells) {
            if (c.formula === undefined || c.value !== 'n/a') continue;
            expect(texts.get(`${c.row}:${c.col}`), `${sheet.name} ${c.formula}`).toBe('n/a');
            na++;
          }
        }
        // The first 4 quarters' TVPI (no call in year 1); the Summary's DPI, RVPI, TVPI and both IRRs.
        expect(na, book.name).toBeGreaterThanOrEqual(i === 0 ? 4 : 5);
      }
    }, 240_000);

    // Session 20: the net IRR of a fund losing 50 % a year was the text "n/a", which stayed after an edit.
    it('funds edited in the file (growth −50 % → 13 %): the net IRR that read n/a is the API number', async () => {
      type R = { metrics: { netIrr: number; grossIrr: number } };
      await compareEdited(
        'funds',
        { growthRate: -0.5 },
        { label: 'Growth rate (G)', value: 0.13 },
        { growthRate: 0.13 },
        [
          ['Net IRR (annual)', (r: R) => r.metrics.netIrr],
          ['Gross IRR (annual)', (r: R) => r.metrics.grossIrr],
        ],
      );
    }, 180_000);

    // Session 24: edits that take an IRR to about −60 % a year or below read "n/a" (IRR converged from none of the
    // job's root, 0 and −50 % per period), or −100 % (a false root) where the flows have an IRR. The IRR solver now
    // brackets the root on the model's grid and starts IRR inside the bracket. Expected: a bisection on the flows
    // LibreOffice itself computed (Cash flows sheet), independent of the model's solver, and the API's run.
    it('funds edited in the file to IRRs near −100 %: LibreOffice shows the IRR the flows have', async () => {
      type Edit = {
        name: string;
        raw: Record<string, unknown>;
        edits: [string, number][];
        editedRaw: object;
      };
      const cases: Edit[] = [
        // Growth −99 % a year: net IRR −99.00003 % a year, gross −99 %.
        {
          name: 'growth-0.99-annual',
          raw: { fundLifeYears: 11, periodsPerYear: 1, growthRate: 0, ...fee(0, 'nav') },
          edits: [
            ['Growth rate (G)', -0.99],
            ['Management fee', 2.6e-7],
          ],
          editedRaw: { fundLifeYears: 11, periodsPerYear: 1, growthRate: -0.99, ...fee(2.6e-7, 'nav') },
        },
        {
          name: 'growth-0.99-quarterly',
          raw: fund(26, 0.2265, 4, -0.52, fee(0, 'nav')),
          edits: [['Growth rate (G)', -0.99]],
          editedRaw: fund(26, 0.2265, 4, -0.99, fee(0, 'nav')),
        },
        {
          name: 'growth-0.99-fees-quarterly',
          raw: fund(19, 0.013, 4, -0.91, fee(0, 'invested')),
          edits: [
            ['Growth rate (G)', -0.99],
            ['Management fee', 0.1],
          ],
          editedRaw: fund(19, 0.013, 4, -0.99, fee(0.1, 'invested')),
        },
        // Not only near −100 %: years of fees on a slowly called fund, IRR −10 % a year, and −18 % (quarterly).
        {
          name: 'fees-28-years',
          raw: fund(28, 0.01, 1, 0, { ...fee(0, 'nav'), bow: 20 }),
          edits: [['Management fee', 0.1]],
          editedRaw: fund(28, 0.01, 1, 0, { ...fee(0.1, 'nav'), bow: 20 }),
        },
        {
          name: 'fees-19-years-quarterly',
          raw: fund(19, 0.2, 4, 0, fee(0, 'invested')),
          edits: [['Management fee', 0.1]],
          editedRaw: fund(19, 0.2, 4, 0, fee(0.1, 'invested')),
        },
        // Gross flows summing to 0 (IRR 0) beside a net IRR of −50 % (HyperFormula's IRR gave −100 % here).
        {
          name: 'fee-0.1-two-years',
          raw: { fundLifeYears: 2, contributionRates: 0.3, periodsPerYear: 1, growthRate: 0, ...fee(0) },
          edits: [['Management fee', 0.1]],
          editedRaw: {
            fundLifeYears: 2,
            contributionRates: 0.3,
            periodsPerYear: 1,
            growthRate: 0,
            ...fee(0.1),
          },
        },
      ];
      const funds = getModel('funds');
      const books = await Promise.all(
        cases.map(async (c) => {
          const { effectiveInput } = resolveInput(funds, {}, c.raw);
          let bytes = await funds.workbook(funds.run(effectiveInput, {}), effectiveInput, {});
          for (const [label, value] of c.edits) bytes = withInputEdited(bytes, label, value);
          return { name: c.name, bytes };
        }),
      );
      const recalculated = recalculateAllWithLibreOffice(books);
      for (const [i, c] of cases.entries()) {
        const ours = readXlsx(books[i]!.bytes).sheets;
        const theirs = recalculated.get(c.name)!;
        const rowOf = (sheet: string, label: string, col = 0) =>
          ours.find((s) => s.name === sheet)!.cells.find((x) => x.col === col && x.value === label)!.row;
        const summary = theirs.get('Summary')!;
        const flowsSheet = theirs.get('Cash flows')!;
        const header = ours
          .find((s) => s.name === 'Cash flows')!
          .cells.filter((x) => x.row === rowOf('Cash flows', 'Period t'));
        const column = (title: string) => {
          const col = header.find((x) => x.value === title)!.col;
          const flows: number[] = [];
          for (let r = rowOf('Cash flows', 'Period t') + 2; flowsSheet.has(`${r}:${col}`); r++)
            flows.push(flowsSheet.get(`${r}:${col}`) as number);
          return flows;
        };
        const api = funds.run(resolveInput(funds, {}, c.editedRaw).effectiveInput, {}) as never as {
          metrics: { netIrr: number; grossIrr: number };
          rates: { perYear: number };
        };
        const P = api.rates.perYear;
        for (const [label, title, metric] of SUMMARY_IRRS) {
          const want = api.metrics[metric];
          const expected = (1 + irrByBisection(column(title))) ** P - 1;
          const got = summary.get(`${rowOf('Summary', label)}:1`);
          expect.soft(got, `${c.name} ${label}`).toBeTypeOf('number');
          expect(
            Math.abs((got as number) - expected),
            `${c.name} ${label}: ${got} vs ${expected}`,
          ).toBeLessThanOrEqual(1e-6);
          expect(Math.abs(want - expected), `${c.name} ${label}: API ${want}`).toBeLessThanOrEqual(1e-6);
        }
      }
    }, 240_000);

    it('funds edited in the file (periods per year 1 → 4) distributes all NAV, as the API', async () => {
      type R = { metrics: { distributions: number; tvpi: number; netIrr: number } };
      await compareEdited(
        'funds',
        { periodsPerYear: 1 },
        { label: 'Periods per year', value: 4 },
        { periodsPerYear: 4 },
        [
          ['Distributions', (r: R) => r.metrics.distributions],
          ['TVPI', (r: R) => r.metrics.tvpi],
          ['Net IRR (annual)', (r: R) => r.metrics.netIrr],
        ],
      );
    }, 180_000);
  },
);
