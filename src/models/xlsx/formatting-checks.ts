import { crc32 } from 'node:zlib';
import { Ajv, type ValidateFunction } from 'ajv';
import type { FieldProblem } from '../../core/errors.ts';
import { toFieldProblems } from '../ajv-messages.ts';
import { pointerSegment } from '../schema-paths.ts';

/** Largest logo accepted, decoded: it sits in a 20-pixel band of every sheet. */
export const MAX_LOGO_BYTES = 64 * 1024;
const MAX_LOGO_PIXELS = 4096;
/** BCP 47 asks implementations to support tags of at least 35 characters; longer ones are not locales in use. */
const MAX_LOCALE_LENGTH = 35;
/** Excel's own limit on a sheet name, counted in characters (code points here, never UTF-16 units). */
const MAX_SHEET_NAME = 31;
/** Excel reserves this name for its change-tracking sheet. */
const RESERVED_SHEET = 'history';
// XML 1.0 cannot carry these; a workbook holding one will not open.
const NO_CONTROL = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\uFFFE\\uFFFF]*$';

const text = (maxLength: number) => ({ type: 'string', maxLength, pattern: NO_CONTROL });

/** The shape of `formatting`; what JSON Schema cannot say (currency list, PNG bytes, sheet names) is checked below. */
export const FORMATTING_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    companyName: text(200),
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    locale: { type: 'string', minLength: 2, maxLength: MAX_LOCALE_LENGTH },
    // Excel caps a number format code at 255 characters.
    numberFormat: { ...text(255), minLength: 1 },
    dateFormat: { ...text(255), minLength: 1 },
    brandColor: { type: 'string', pattern: '^[0-9A-Fa-f]{6}$' },
    logoPng: {
      type: 'string',
      maxLength: Math.ceil(MAX_LOGO_BYTES / 3) * 4,
      pattern: '^[A-Za-z0-9+/]*={0,2}$',
    },
    sheetNames: { type: 'object', maxProperties: 50, additionalProperties: { type: 'string' } },
  },
} as const;

/** The Ajv options of the shape check (the prebuilt function bundle compiles it ahead of time with them). */
export const FORMATTING_AJV_OPTIONS = { allErrors: true, strict: false, verbose: true } as const;

/**
 * The shape check as Ajv standalone code, compiled when the prebuilt function bundle is built
 * (src/runtime/prebuilt.ts injects it): compiling it costs a process about 30 ms, which a dedicated
 * function's first job would otherwise wait for. Undefined outside that bundle.
 */
declare const SILOPOOL_PRECOMPILED_FORMATTING_SHAPE: ValidateFunction | undefined;

// Compiled on first use, not when a function process loads this module: a cold start pays only for what
// its first job needs.
let validateShape: ValidateFunction | undefined;
const formattingShape = (): ValidateFunction =>
  (validateShape ??=
    typeof SILOPOOL_PRECOMPILED_FORMATTING_SHAPE === 'undefined'
      ? new Ajv(FORMATTING_AJV_OPTIONS).compile(FORMATTING_SCHEMA)
      : SILOPOOL_PRECOMPILED_FORMATTING_SHAPE);
const MESSAGES: Record<string, string> = {
  '/currency': 'must be an ISO 4217 currency code such as EUR',
  '/brandColor': 'must be a hex colour of six digits without #, such as 1F4E79',
  '/logoPng': `must be a PNG of at most ${MAX_LOGO_BYTES} bytes, base64-encoded`,
};

let currencies: ReadonlySet<string> | undefined;
function isCurrency(code: string): boolean {
  currencies ??= new Set(Intl.supportedValuesOf('currency'));
  return currencies.has(code);
}

/**
 * Every mistake in a tenant's workbook formatting, any JSON value accepted: the shape above, then ISO 4217
 * currencies, BCP 47 locales, a logo that is a real PNG, and sheet names Excel accepts — at most 31
 * characters, none of `[]:*?/\`, no apostrophe at either end, not `History`, and unique ignoring case in
 * each workbook (`workbooks`: every model's default sheet names). Paths are relative to `formatting`.
 */
export function formattingProblems(
  formatting: unknown,
  workbooks: readonly (readonly string[])[],
): FieldProblem[] {
  const validate = formattingShape();
  const problems = validate(formatting)
    ? []
    : toFieldProblems(validate.errors ?? [], {
        base: '',
        unknownField: 'is not a formatting setting',
      }).map((p) => (Object.hasOwn(MESSAGES, p.path) ? { ...p, message: MESSAGES[p.path]! } : p));
  if (formatting === null || typeof formatting !== 'object' || Array.isArray(formatting)) return problems;
  // Each field whose shape is right gets its semantic check too, so one answer names every bad field.
  const shaped = (field: string) => !problems.some((p) => p.path === field || p.path.startsWith(`${field}/`));
  const f = formatting as Record<string, string | undefined> & { sheetNames?: Record<string, string> };
  if (f.currency !== undefined && shaped('/currency') && !isCurrency(f.currency))
    problems.push({ path: '/currency', message: MESSAGES['/currency']!, rule: 'currency' });
  if (f.locale !== undefined && shaped('/locale') && !isLocale(f.locale))
    problems.push({
      path: '/locale',
      message: 'must be a BCP 47 language tag such as de-DE',
      rule: 'locale',
    });
  if (f.logoPng !== undefined && shaped('/logoPng')) {
    const problem = pngProblem(Buffer.from(f.logoPng, 'base64'));
    if (problem) problems.push({ path: '/logoPng', message: problem, rule: 'png' });
  }
  if (f.sheetNames !== undefined && shaped('/sheetNames'))
    problems.push(...sheetNameProblems(f.sheetNames, workbooks));
  return problems;
}

function isLocale(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Bit depths PNG allows for each colour type (PNG spec, table 11.1). */
const PNG_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** Why `bytes` is not a PNG the workbook can show, or undefined: signature, IHDR (with its CRC), IEND. */
export function pngProblem(bytes: Uint8Array): string | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length > MAX_LOGO_BYTES) return `must be at most ${MAX_LOGO_BYTES} bytes`;
  if (buf.length < 8 + 25 + 12 || PNG_SIGNATURE.some((b, i) => buf[i] !== b))
    return 'is not a PNG image (no PNG signature)';
  if (buf.readUInt32BE(8) !== 13 || buf.toString('latin1', 12, 16) !== 'IHDR')
    return 'is not a PNG image (its first chunk is not IHDR)';
  if (crc32(buf.subarray(12, 29)) !== buf.readUInt32BE(29))
    return 'is not a PNG image (its header is corrupt)';
  const width = buf.readUInt32BE(16);
  const height = buf.readUInt32BE(20);
  if (width === 0 || height === 0 || width > MAX_LOGO_PIXELS || height > MAX_LOGO_PIXELS)
    return `must be 1 to ${MAX_LOGO_PIXELS} pixels wide and high`;
  const depth = buf[24]!;
  const colourType = buf[25]!;
  if (!Object.hasOwn(PNG_DEPTHS, colourType) || !PNG_DEPTHS[colourType]!.includes(depth))
    return 'is not a PNG image (bad colour type or bit depth)';
  if (buf.toString('latin1', buf.length - 8, buf.length - 4) !== 'IEND')
    return 'is not a complete PNG image (no IEND chunk at the end)';
  return undefined;
}

function sheetNameProblems(
  names: Record<string, string>,
  workbooks: readonly (readonly string[])[],
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const known = new Set(workbooks.flat());
  for (const [key, name] of Object.entries(names)) {
    const path = `/sheetNames/${pointerSegment(key)}`;
    const problem = known.has(key)
      ? sheetNameProblem(name)
      : `is not a sheet of any workbook (${[...known].join(', ')})`;
    if (problem) problems.push({ path, message: problem, rule: 'sheetName' });
  }
  if (problems.length > 0) return problems;
  for (const sheets of workbooks) {
    const seen = new Map<string, string>();
    for (const sheet of sheets) {
      const name = Object.hasOwn(names, sheet) ? names[sheet]! : sheet;
      const folded = name.toUpperCase();
      const clash = seen.get(folded);
      if (clash !== undefined) {
        const key = Object.hasOwn(names, sheet) ? sheet : clash;
        problems.push({
          path: `/sheetNames/${pointerSegment(key)}`,
          message: `makes two sheets of one workbook named "${name}" (${clash} and ${sheet}); names must differ ignoring case`,
          rule: 'sheetName',
        });
      } else seen.set(folded, sheet);
    }
  }
  return problems.filter((p, i) => problems.findIndex((q) => q.path === p.path) === i);
}

/** Excel's rules for one sheet name, or undefined when it may be used as is. */
export function sheetNameProblem(name: string): string | undefined {
  const length = [...name].length;
  if (length === 0 || name.trim().length === 0) return 'must not be empty';
  if (length > MAX_SHEET_NAME) return `must be at most ${MAX_SHEET_NAME} characters`;
  if (/[[\]:*?/\\]/.test(name)) return 'must not contain any of [ ] : * ? / \\';
  if (name.startsWith("'") || name.endsWith("'")) return 'must not begin or end with an apostrophe';
  if (new RegExp(NO_CONTROL).test(name) === false) return 'must not contain control characters';
  if (name.toLowerCase() === RESERVED_SHEET) return 'must not be History (Excel reserves it)';
  return undefined;
}
