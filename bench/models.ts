import { pathToFileURL } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { strToU8, Zip, ZipPassThrough, type Zippable, zipSync } from 'fflate';
import type { Formatting } from '../src/core/tenant.ts';
import { financeWorkbookSpec } from '../src/models/finance/workbook.ts';
import { fundsWorkbookSpec } from '../src/models/funds/workbook.ts';
import { getModel } from '../src/models/registry.ts';
import { resolveInput } from '../src/models/rules.ts';
import type { ModelDefinition } from '../src/models/types.ts';
import { a1, type WorkbookSpec } from '../src/models/xlsx/cells.ts';
import { moneyFormat } from '../src/models/xlsx/styles.ts';
import { writeXlsx } from '../src/models/xlsx/writer.ts';
import { zipEntries } from '../src/models/xlsx/zip.ts';
import type { BenchResult } from './types.ts';

const FORMATTING: Formatting = {
  companyName: 'Bench Ltd',
  currency: 'EUR',
  locale: 'de-DE',
  brandColor: '7A1F5C',
};

/** Mean milliseconds per call: a few warm-up calls, then as many as fit in `budgetMs` (at least `min`). */
async function timeMs(fn: () => unknown, budgetMs = 400, min = 3): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  let n = 0;
  const start = performance.now();
  while (n < min || performance.now() - start < budgetMs) {
    await fn();
    n++;
  }
  return (performance.now() - start) / n;
}

/**
 * The floor: the same cells (formulas with cached values, strings inline) as bare sheet XML in a
 * zip, no styles, no charts. `zip: 'fflate'` packs it with fflate's JS deflate instead of ours;
 * `'fflate-container'` with fflate's zip container around the same node:zlib deflate as ours.
 */
export function writePlainXlsx(
  spec: WorkbookSpec,
  zip: 'native' | 'fflate' | 'fflate-container' = 'native',
): Uint8Array {
  const esc = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const files: Zippable = {};
  spec.sheets.forEach((sheet, i) => {
    const rows = sheet.rows.map((row, r) => {
      let s = `<row r="${r + 1}">`;
      row.forEach((c, col) => {
        if (!c || c.v === undefined) return;
        const ref = a1(col, r);
        const f = c.f === undefined ? '' : `<f>${esc(c.f)}</f>`;
        s +=
          typeof c.v === 'string'
            ? c.f === undefined
              ? `<c r="${ref}" t="inlineStr"><is><t>${esc(c.v)}</t></is></c>`
              : `<c r="${ref}" t="str">${f}<v>${esc(c.v)}</v></c>`
            : `<c r="${ref}">${f}<v>${Number(c.v)}</v></c>`;
      });
      return `${s}</row>`;
    });
    files[`xl/worksheets/sheet${i + 1}.xml`] = strToU8(
      `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows.join('')}</sheetData></worksheet>`,
    );
  });
  files['[Content_Types].xml'] = strToU8('<Types/>');
  files['xl/workbook.xml'] = strToU8('<workbook/>');
  if (zip === 'fflate') return zipSync(files, { level: 1 });
  if (zip === 'fflate-container') return fflateContainer(files);
  return zipEntries(Object.entries(files).map(([name, data]) => ({ name, data: data as Uint8Array })));
}

/**
 * fflate's `Zip` container (its documented `ZipInputFile` interface for data compressed elsewhere) around
 * node:zlib's deflate at level 1, parts under 16 KiB stored: the library way to what `zipEntries` does.
 */
function fflateContainer(files: Zippable): Uint8Array {
  const out: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    out.push(chunk);
  });
  for (const [filename, value] of Object.entries(files)) {
    const data = value as Uint8Array;
    if (data.length < 16 * 1024) {
      const part = new ZipPassThrough(filename);
      zip.add(part);
      part.push(data, true);
      continue;
    }
    const part = { filename, compression: 8, size: data.length, crc: crc32(data), terminate() {} };
    zip.add(part as never);
    (part as unknown as { ondata: (e: null, d: Uint8Array, final: boolean) => void }).ondata(
      null,
      deflateRawSync(data, { level: 1 }),
      true,
    );
  }
  zip.end();
  return Buffer.concat(out);
}

/** The same content through exceljs (cells, formulas with results, number formats, header fill; exceljs has no charts). */
async function writeWithExcelJs(spec: WorkbookSpec, formatting: Formatting): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  const money = moneyFormat(formatting.currency, formatting.locale);
  for (const sheet of spec.sheets) {
    const ws = wb.addWorksheet(sheet.name);
    sheet.rows.forEach((row, r) => {
      row.forEach((c, col) => {
        if (!c) return;
        const cell = ws.getCell(r + 1, col + 1);
        cell.value =
          c.f !== undefined ? ({ formula: c.f, result: c.v } as ExcelJS.CellFormulaValue) : (c.v ?? null);
        if (c.s?.startsWith('money')) cell.numFmt = money;
        else if (c.s?.startsWith('percent')) cell.numFmt = '0.00%';
        if (c.s === 'header')
          cell.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FF7A1F5C' } };
      });
    });
  }
  return new Uint8Array(await wb.xlsx.writeBuffer());
}

interface Case {
  name: string;
  model: ModelDefinition;
  raw: object;
  spec: (result: unknown, input: unknown) => WorkbookSpec;
}

export async function benchModels(): Promise<BenchResult[]> {
  const finance = getModel('finance');
  const funds = getModel('funds');
  const financeSpec = (r: unknown, i: unknown) =>
    financeWorkbookSpec(r as never, i as never, FORMATTING) as WorkbookSpec;
  const fundsSpec = (r: unknown, i: unknown) =>
    fundsWorkbookSpec(r as never, i as never, FORMATTING) as WorkbookSpec;
  const cases: Case[] = [
    {
      name: 'finance small (5-year DCF)',
      model: finance,
      raw: { revenue: 1_000_000, years: 5 },
      spec: financeSpec,
    },
    {
      name: 'finance large (30-year DCF + 30-year monthly loan)',
      model: finance,
      raw: {
        years: 30,
        loan: { principal: 1e6, annualRate: 0.06, termMonths: 360, startDate: '2025-01-01' },
      },
      spec: financeSpec,
    },
    { name: 'funds small (12 years annual)', model: funds, raw: {}, spec: fundsSpec },
    {
      name: 'funds large (10,000-path Monte Carlo, quarterly)',
      model: funds,
      raw: { periodsPerYear: 4, simulations: 10_000, growthVolatility: 0.25 },
      spec: fundsSpec,
    },
  ];
  const results: BenchResult[] = [];
  for (const c of cases) {
    const { effectiveInput } = resolveInput(c.model, {}, c.raw);
    const result = c.model.run(effectiveInput, {});
    const runMs = await timeMs(() => c.model.run(resolveInput(c.model, {}, c.raw).effectiveInput, {}), 600);
    const renderMs = await timeMs(() => c.model.workbook(result, effectiveInput, FORMATTING));
    const spec = c.spec(result, effectiveInput);
    const floorMs = await timeMs(() => writePlainXlsx(spec));
    results.push(
      {
        name: `${c.name}: validate + run`,
        value: 1000 / runMs,
        unit: 'jobs/s',
        note: `${runMs.toFixed(3)} ms each`,
      },
      {
        name: `${c.name}: workbook render`,
        value: renderMs,
        unit: 'ms',
        baseline: floorMs,
        ratio: renderMs / floorMs,
        note: 'baseline: the same cells as plain sheet XML in a zip, no styles or charts',
      },
      {
        name: `${c.name}: run + render`,
        value: 1000 / (runMs + renderMs),
        unit: 'jobs/s',
        note: `render is ${((100 * renderMs) / (runMs + renderMs)).toFixed(0)}% of the job`,
      },
    );
    const fflateMs = await timeMs(() => writePlainXlsx(spec, 'fflate'));
    results.push({
      name: `${c.name}: floor zipped by fflate (JS deflate) vs native zlib`,
      value: fflateMs,
      unit: 'ms',
      baseline: floorMs,
      ratio: fflateMs / floorMs,
      note: 'why the writer uses node:zlib',
    });
    const containerMs = await timeMs(() => writePlainXlsx(spec, 'fflate-container'));
    results.push({
      name: `${c.name}: floor in fflate's zip container (node:zlib deflate) vs ours`,
      value: containerMs,
      unit: 'ms',
      baseline: floorMs,
      ratio: containerMs / floorMs,
      note: 'why src/models/xlsx/zip.ts is our own',
    });
    if (c.model === finance) {
      const exceljsMs = await timeMs(() => writeWithExcelJs(spec, FORMATTING));
      const directMs = await timeMs(() => writeXlsx(spec, FORMATTING));
      results.push({
        name: `${c.name}: exceljs vs direct SpreadsheetML writer`,
        value: exceljsMs,
        unit: 'ms',
        baseline: directMs,
        ratio: exceljsMs / directMs,
        note: 'exceljs ms per workbook (no chart); baseline = our writer, same cells and styles',
      });
    }
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const r of await benchModels()) {
    const ratio = r.ratio === undefined ? '' : `  ×${r.ratio.toFixed(2)} of ${r.baseline?.toFixed(3)}`;
    console.log(
      `${r.name.padEnd(80)} ${r.value.toFixed(r.unit === 'ms' ? 3 : 1).padStart(10)} ${r.unit}${ratio}${r.note ? `  (${r.note})` : ''}`,
    );
  }
}
