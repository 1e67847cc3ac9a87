import type { HyperFormula } from 'hyperformula';
import { describe, expect, it } from 'vitest';
import type { ModelRules } from '../../src/core/tenant.ts';
import { excelSerial } from '../../src/models/finmath.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput, schemaForTenant } from '../../src/models/rules.ts';
import { locateProperty } from '../../src/models/schema-paths.ts';
import type { JsonSchema, ModelDefinition } from '../../src/models/types.ts';
import { STYLE_ORDER } from '../../src/models/xlsx/styles.ts';
import { loadIntoEngine } from './engine.ts';
import { type ReadSheet, readXlsx } from './xlsx-read.ts';

// Session 17, item 3: the Loan drawdown date was the one Inputs cell without data validation (any number
// went in, 1900-01-31 included, and DATE/EOMONTH answered #NUM! past 9999), the principal and commitment
// cells let 0 through where the schema wants more than 0, and the per-year growth cells of the DCF sheet
// had none. Here every input-styled cell of every sheet must carry a validation, and each Inputs-sheet
// validation must accept exactly what the API accepts at and around the schema's bounds: Excel's rule is
// evaluated (custom formulas in HyperFormula) and compared with `resolveInput` on the same value.

type Raw = Record<string, unknown>;
/** An input's field; `fit` adjusts the rest of the input to a new value as the workbook does. */
type Field = { path: string; items?: number; date?: boolean; fit?: (raw: Raw, value: unknown) => Raw };

interface DataValidation {
  type: string;
  sqref: string;
  allowBlank: boolean;
  error: string;
  formula1?: string;
  formula2?: string;
}

const unescapeXml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function validationsOf(sheet: ReadSheet): DataValidation[] {
  return [...sheet.xml.matchAll(/<dataValidation\b([^>]*)>([\s\S]*?)<\/dataValidation>/g)].map((m) => {
    const attr = (n: string) => new RegExp(`\\b${n}="([^"]*)"`).exec(m[1]!)?.[1];
    const f = (n: string) => {
      const v = new RegExp(`<${n}>([\\s\\S]*?)</${n}>`).exec(m[2]!)?.[1];
      return v === undefined ? undefined : unescapeXml(v);
    };
    return {
      type: attr('type')!,
      sqref: attr('sqref')!,
      allowBlank: attr('allowBlank') === '1',
      error: unescapeXml(attr('error') ?? ''),
      formula1: f('formula1'),
      formula2: f('formula2'),
    };
  });
}

const colIndex = (letters: string) => [...letters].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
function covers(sqref: string, row: number, col: number): boolean {
  return sqref.split(' ').some((range) => {
    const [a, b = a] = range.split(':') as [string, string?];
    const p = (ref: string) => {
      const m = /^([A-Z]+)(\d+)$/.exec(ref)!;
      return { col: colIndex(m[1]!), row: Number(m[2]) - 1 };
    };
    const lo = p(a);
    const hi = p(b!);
    return row >= lo.row && row <= hi.row && col >= lo.col && col <= hi.col;
  });
}

/** What Excel decides for `value` typed into the cell (its sheet in `hf`), under validation `v`. */
function excelAccepts(
  hf: HyperFormula,
  sheet: number,
  at: { row: number; col: number },
  v: DataValidation,
  value: unknown,
): boolean {
  if (v.type === 'list') return v.formula1!.replace(/^"|"$/g, '').split(',').includes(String(value));
  // A custom rule decides text too (the terminal method cell: one of the methods, and the Gordon spread).
  if (typeof value !== 'number' && v.type !== 'custom') return false;
  if (v.type === 'decimal' || v.type === 'whole') {
    if (v.type === 'whole' && !Number.isInteger(value)) return false;
    return (value as number) >= Number(v.formula1) && (value as number) <= Number(v.formula2);
  }
  expect(v.type).toBe('custom');
  hf.setCellContents({ sheet, ...at }, value as never);
  const scratch = { sheet, row: 400, col: 20 };
  hf.setCellContents(scratch, `=${v.formula1}` as never);
  const ok = hf.getCellValue(scratch) === true;
  hf.setCellContents(scratch, null as never);
  return ok;
}

function apiAccepts(model: ModelDefinition, rules: ModelRules, raw: Raw): boolean {
  try {
    resolveInput(model, rules, raw);
    return true;
  } catch {
    return false;
  }
}

function setPath(raw: Raw, field: Field, value: unknown): Raw {
  const copy = structuredClone(raw);
  const keys = field.path.split('.');
  let node = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (field.items !== undefined) (node[last] as unknown[])[field.items] = value;
  else node[last] = value;
  return copy;
}

const isoOf = (serial: number) =>
  new Date(Date.UTC(1899, 11, 30) + serial * 86_400_000).toISOString().slice(0, 10);

/** Values at, just inside and just outside the field's schema bounds (and its enum, or dates at its rules). */
function probes(schema: JsonSchema, field: Field): unknown[] {
  if (field.date) {
    const s = (d: string) => excelSerial(d);
    return [
      1,
      31,
      59,
      60,
      61,
      62,
      s('2025-01-31'),
      s('2025-01-31') + 0.5,
      s('9949-12-31'),
      s('9950-01-01'),
      2958465,
    ];
  }
  let node = locateProperty(schema, field.path)!.node;
  if (field.items !== undefined) {
    const array = (node['anyOf'] as JsonSchema[]).find((b) => b['type'] === 'array')!;
    node = array['items'] as JsonSchema;
  }
  if (Array.isArray(node['enum'])) return [...node['enum'], 'x', 2];
  if (node['anyOf']) node = (node['anyOf'] as JsonSchema[]).find((b) => b['type'] === 'number')!;
  // A tenant's range narrows minimum/maximum beside the model's exclusive bounds: probe around all of them.
  const bounds = ['minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum']
    .map((k) => node[k])
    .filter((v): v is number => typeof v === 'number');
  const lo = Math.min(...bounds);
  const hi = Math.max(...bounds);
  const whole = node['type'] === 'integer';
  const d = (x: number) => (whole ? 1 : Math.max(1e-6, Math.abs(x) * 1e-6));
  const values = [...bounds.flatMap((b) => [b, b - d(b), b + d(b)]), (lo + hi) / 2, 0, 'text'];
  return whole ? [...values, lo + 0.5] : values;
}

/**
 * Renders the workbook a tenant with `rules` gets for `base` and checks every input cell against that
 * tenant's submit (`resolveInput` with its rules), probing around the bounds of the tenant's schema.
 */
async function checkInputs(
  model: ModelDefinition,
  base: Raw,
  fields: Record<string, Field>,
  rules: ModelRules = {},
) {
  const { effectiveInput } = resolveInput(model, rules, base);
  // What the tenant's form submits: its effective input without the fields its rules fix (setting one is refused).
  const effective = structuredClone(effectiveInput) as Raw;
  for (const path of Object.keys(rules.fixed ?? {})) {
    const keys = path.split('.');
    let node = effective as Record<string, unknown> | undefined;
    for (const k of keys.slice(0, -1)) node = node?.[k] as Record<string, unknown> | undefined;
    if (node) delete node[keys.at(-1)!];
  }
  const schema = schemaForTenant(model, rules);
  const { sheets } = readXlsx(
    await model.workbook(model.run(effectiveInput, rules), effectiveInput, {}, undefined, rules),
  );
  const styleName = (c: { style: number }) => STYLE_ORDER[c.style] ?? 'default';
  // Every input-styled cell of every sheet has a validation.
  for (const sheet of sheets) {
    const validations = validationsOf(sheet);
    // Excel refuses (repairs) a file whose validation formula or error text passes 255 characters.
    for (const v of validations) {
      expect(v.formula1?.length ?? 0, v.formula1).toBeLessThanOrEqual(255);
      expect(v.error.length, v.error).toBeLessThanOrEqual(255);
    }
    for (const c of sheet.cells.filter((x) => styleName(x).endsWith('Input'))) {
      const label = sheet.cells.find((x) => x.row === c.row && x.col === 0)?.value;
      expect(
        validations.some((v) => covers(v.sqref, c.row, c.col)),
        `${sheet.name}!R${c.row + 1}C${c.col + 1} (${String(label)}) has data validation`,
      ).toBe(true);
    }
  }
  // Each Inputs-sheet validation accepts what the API accepts.
  const inputs = sheets.find((s) => s.name === 'Inputs')!;
  // A field the tenant's rules fix is no input: a locked cell saying so (the API refuses any value for it).
  for (const path of Object.keys(rules.fixed ?? {})) {
    for (const [label, field] of Object.entries(fields).filter(([, f]) => f.path === path)) {
      const labelCell = inputs.cells.find((x) => x.col === 0 && x.value === label);
      const cell = inputs.cells.find((x) => x.row === labelCell?.row && x.col === 1);
      // Absent (no loan), or the note that growth is per year on the DCF sheet (checked there).
      if (!labelCell || !cell || styleName(cell) === 'note') continue;
      const unit = inputs.cells.find((x) => x.row === labelCell.row && x.col === 2)?.value;
      expect(styleName(cell), `${label} (${field.path}, fixed by the tenant)`).not.toMatch(/Input$/);
      expect(String(unit)).toContain("fixed by your organisation's rules");
    }
  }
  const validations = validationsOf(inputs);
  const mismatches: string[] = [];
  const hf = loadIntoEngine(sheets);
  const sheet = hf.getSheetId('Inputs')!;
  for (const c of inputs.cells.filter((x) => styleName(x).endsWith('Input'))) {
    const label = String(inputs.cells.find((x) => x.row === c.row && x.col === 0)?.value);
    const field = fields[label];
    expect(field, `the test maps "${label}" to a field`).toBeDefined();
    const v = validations.find((x) => covers(x.sqref, c.row, c.col))!;
    for (const value of probes(schema, field!)) {
      const raw = setPath(effective, field!, field!.date ? isoOf(value as number) : value);
      const api = apiAccepts(model, rules, field!.fit ? field!.fit(raw, value) : raw);
      // A date with a time of day is no ISO date: the API cannot be asked, the workbook wants whole days.
      const wantApi = field!.date && !Number.isInteger(value) ? false : api;
      const excel = excelAccepts(hf, sheet, c, v, value);
      if (excel !== wantApi) mismatches.push(`${label} = ${String(value)}: Excel ${excel}, API ${wantApi}`);
    }
    hf.setCellContents({ sheet, row: c.row, col: c.col }, (c.value ?? null) as never);
  }
  hf.destroy();
  expect(mismatches).toEqual([]);
}

const financeFields: Record<string, Field> = {
  'First projected year': { path: 'startYear' },
  // With revenue growth per year, the DCF sheet's growth cells past the old projection are blank (0 %).
  'Projection years': {
    path: 'years',
    fit: (raw, years) =>
      Array.isArray(raw['revenueGrowth']) && Number.isInteger(years) && (years as number) > 0
        ? {
            ...raw,
            revenueGrowth: Array.from(
              { length: years as number },
              (_, i) => (raw['revenueGrowth'] as number[])[i] ?? 0,
            ),
          }
        : raw,
  },
  'Base-year revenue': { path: 'revenue' },
  'Revenue growth': { path: 'revenueGrowth' },
  'EBITDA margin': { path: 'ebitdaMargin' },
  'D&A, % of revenue': { path: 'depreciationPctRevenue' },
  'Capex, % of revenue': { path: 'capexPctRevenue' },
  'Net working capital, % of revenue': { path: 'nwcPctRevenue' },
  'Tax rate': { path: 'taxRate' },
  'Discount rate (WACC)': { path: 'discountRate' },
  'Terminal growth': { path: 'terminalGrowth' },
  'Terminal value method': { path: 'terminalMethod' },
  'Exit multiple (EV/EBITDA)': { path: 'exitMultiple' },
  Discounting: { path: 'discounting' },
  'Net debt': { path: 'netDebt' },
  'Shares outstanding': { path: 'sharesOutstanding' },
  'Loan principal': { path: 'loan.principal' },
  'Loan annual rate': { path: 'loan.annualRate' },
  'Loan term': { path: 'loan.termMonths' },
  'Loan drawdown date': { path: 'loan.startDate', date: true },
};

const L = 12;
const fundsFields: Record<string, Field> = {
  Commitment: { path: 'commitment' },
  'Vintage year': { path: 'vintageYear' },
  'Periods per year': { path: 'periodsPerYear' },
  'Bow (B)': { path: 'bow' },
  'Growth rate (G)': { path: 'growthRate' },
  'Yield (Y)': { path: 'yield' },
  'Management fee': { path: 'managementFee.rate' },
  'Fee basis': { path: 'managementFee.basis' },
  'Fee step-down after fund year': { path: 'managementFee.stepDownAfterYear' },
  'Fee after step-down': { path: 'managementFee.stepDownRate' },
  'Carried interest': { path: 'carry.rate' },
  'Hurdle rate': { path: 'carry.hurdleRate' },
  'GP catch-up': { path: 'carry.catchUp' },
  'Last contribution year': { path: 'contributionYears' },
  ...Object.fromEntries(
    Array.from({ length: L }, (_, i) => [
      `Rate of contribution (RC), fund year ${i + 1}`,
      { path: 'contributionRates', items: i },
    ]),
  ),
};

describe('every input cell validates what the API accepts (Excel data validation = schema and checks)', () => {
  it('finance with a loan, shares and net debt', async () => {
    await checkInputs(
      getModel('finance'),
      {
        netDebt: 1000,
        sharesOutstanding: 10,
        loan: { principal: 1000, annualRate: 0.05, termMonths: 600, startDate: '2025-01-31' },
      },
      financeFields,
    );
  }, 60_000);

  it('finance under the exit multiple, with revenue growth per year on the DCF sheet', async () => {
    await checkInputs(
      getModel('finance'),
      { terminalMethod: 'exitMultiple', years: 3, revenueGrowth: [0.1, 0.05, 0.02] },
      financeFields,
    );
  }, 60_000);

  it('funds with a fee step-down and a last contribution year', async () => {
    await checkInputs(
      getModel('funds'),
      {
        fundLifeYears: L,
        contributionRates: Array.from({ length: L }, () => 0.3),
        contributionYears: 5,
        managementFee: { rate: 0.02, basis: 'committed', stepDownAfterYear: 5, stepDownRate: 0.01 },
      },
      fundsFields,
    );
  }, 60_000);

  // The same for 'calls some capital': a fund whose one non-zero rate is typed to 0, with no last contribution
  // year, calls nothing, which the API refuses; each rate cell was a bare range and let it through.
  it('funds whose only call is in year 1 and no last contribution year', async () => {
    await checkInputs(
      getModel('funds'),
      {
        fundLifeYears: L,
        contributionRates: [0.3, ...Array.from({ length: L - 1 }, () => 0)],
        // With a step-down: its two cells must be set together, which no per-cell rule holds (Checks does).
        managementFee: { rate: 0.02, stepDownAfterYear: 5, stepDownRate: 0.01 },
      },
      fundsFields,
    );
  }, 60_000);

  // Excel checks a validation only on the cell typed into: the Gordon spread reads the discount rate, the
  // terminal growth and the method, so switching the method of an exit-multiple workbook whose rates are
  // 0.2 points apart to gordon must be refused too (the API refuses that input). The list validation let it in.
  it('finance under the exit multiple with rates closer than the Gordon spread', async () => {
    await checkInputs(
      getModel('finance'),
      { terminalMethod: 'exitMultiple', discountRate: 0.05, terminalGrowth: 0.048 },
      financeFields,
    );
  }, 60_000);
});

// Session 18: the validations were built from the model's schema, but a tenant's rules shape the schema its
// submit validates by (ranges narrowed, fields fixed: schemaForTenant), so a tenant's workbook took values its
// own submit refuses (a discount rate of 0.3 where the tenant allows 0.06 to 0.15; any discounting where it is
// fixed). Each case renders the workbook with the job's rules and compares with that tenant's submit.
describe("every input cell validates what the tenant's own submit accepts (rules: ranges and fixed)", () => {
  const financeRules: ModelRules = {
    ranges: {
      years: { maximum: 10 },
      revenue: { minimum: 1, maximum: 1e9 },
      discountRate: { minimum: 0.06, maximum: 0.15 },
      terminalGrowth: { maximum: 0.03 },
      revenueGrowth: { minimum: -0.2, maximum: 0.5 },
      'loan.principal': { minimum: 0, maximum: 5e6 },
      'loan.termMonths': { minimum: 12, maximum: 360 },
    },
    fixed: { discounting: 'mid-year', 'loan.annualRate': 0.05, exitMultiple: 9 },
  };

  it('finance with a loan under ranges and fixed fields', async () => {
    await checkInputs(
      getModel('finance'),
      { loan: { principal: 1000, termMonths: 120, startDate: '2025-01-31' }, netDebt: 10 },
      financeFields,
      financeRules,
    );
  }, 60_000);

  it('finance with per-year growth: the DCF growth cells take the tenant range', async () => {
    const model = getModel('finance');
    await checkInputs(model, { years: 3, revenueGrowth: [0.1, 0.05, 0.02] }, financeFields, financeRules);
    const { effectiveInput } = resolveInput(model, financeRules, {
      years: 3,
      revenueGrowth: [0.1, 0.05, 0.02],
    });
    const bytes = await model.workbook(
      model.run(effectiveInput, financeRules),
      effectiveInput,
      {},
      undefined,
      financeRules,
    );
    const dcf = readXlsx(bytes).sheets.find((x) => x.name === 'DCF')!;
    const [growth] = validationsOf(dcf);
    const apiTakes = (g: number) =>
      apiAccepts(model, financeRules, { years: 3, revenueGrowth: [0.1, g, 0.02] });
    for (const g of [-0.2, -0.2000001, 0.5, 0.5000001, 0.7, -0.5])
      expect(g >= Number(growth!.formula1) && g <= Number(growth!.formula2), `growth ${g}`).toBe(apiTakes(g));
  }, 60_000);

  it('finance with per-year growth fixed by the tenant: the DCF growth cells are locked', async () => {
    const model = getModel('finance');
    const rules: ModelRules = { fixed: { years: 3, revenueGrowth: [0.1, 0.05, 0.02] } };
    const { effectiveInput } = resolveInput(model, rules, {});
    const bytes = await model.workbook(
      model.run(effectiveInput, rules),
      effectiveInput,
      {},
      undefined,
      rules,
    );
    const dcf = readXlsx(bytes).sheets.find((x) => x.name === 'DCF')!;
    expect(dcf.cells.filter((c) => (STYLE_ORDER[c.style] ?? '').endsWith('Input'))).toEqual([]);
    await checkInputs(model, {}, financeFields, rules);
  }, 60_000);

  // Session 19: with only the per-year growth fixed, Projection years stayed an editable cell with no check,
  // though the API refuses any count of years but the list's length.
  it('finance with per-year growth fixed by the tenant (years not fixed): Projection years is locked too', async () => {
    const model = getModel('finance');
    const rules: ModelRules = { fixed: { revenueGrowth: [0.1, 0.05, 0.02] }, defaults: { years: 3 } };
    const { effectiveInput } = resolveInput(model, rules, {});
    expect(apiAccepts(model, rules, { years: 4 })).toBe(false);
    const bytes = await model.workbook(
      model.run(effectiveInput, rules),
      effectiveInput,
      {},
      undefined,
      rules,
    );
    const inputs = readXlsx(bytes).sheets.find((x) => x.name === 'Inputs')!;
    const label = inputs.cells.find((c) => c.col === 0 && c.value === 'Projection years')!;
    const cell = inputs.cells.find((c) => c.row === label.row && c.col === 1)!;
    const unit = inputs.cells.find((c) => c.row === label.row && c.col === 2)!;
    expect(cell.value).toBe(3);
    expect(STYLE_ORDER[cell.style]).toBe('integer');
    expect(String(unit.value)).toContain("fixed by your organisation's rules");
    await checkInputs(model, {}, financeFields, rules);
  }, 60_000);

  it('funds under ranges and fixed fields', async () => {
    await checkInputs(
      getModel('funds'),
      {
        fundLifeYears: L,
        contributionRates: Array.from({ length: L }, () => 0.3),
        contributionYears: 5,
        managementFee: { rate: 0.02, stepDownAfterYear: 5, stepDownRate: 0.01 },
      },
      fundsFields,
      {
        ranges: {
          periodsPerYear: { minimum: 4 },
          commitment: { minimum: 10, maximum: 1e9 },
          'managementFee.rate': { maximum: 0.025 },
          contributionRates: { maximum: 0.5 },
          'carry.catchUp': { minimum: 0.5 },
        },
        fixed: { 'carry.hurdleRate': 0.08, 'managementFee.basis': 'committed' },
      },
    );
  }, 60_000);
});
