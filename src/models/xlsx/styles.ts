import type { Formatting } from '../../core/tenant.ts';
import type { StyleName } from './cells.ts';
import { escapeXml } from './xml.ts';

const moneyKey = (currency: string, locale: string) => `${currency}|${locale}`;

/** Excel number format for money in the tenant's currency and locale: symbol position and decimals from Intl. */
export function moneyFormat(currency = 'USD', locale = 'en-US'): string {
  const key = moneyKey(currency, locale);
  let format = moneyFormats.get(key);
  if (format === undefined) {
    format = buildMoneyFormat(currency, locale);
    // Intl.NumberFormat costs about a millisecond to build: more than the rest of a small workbook.
    if (moneyFormats.size < 1000) moneyFormats.set(key, format);
  }
  return format;
}

/**
 * Money formats of every currency in the default locale, worked out when the prebuilt function bundle is
 * built (src/runtime/prebuilt.ts injects them): the first Intl.NumberFormat of a process costs about 10 ms
 * (ICU data), which a dedicated function's first job would otherwise wait for. Undefined outside that bundle.
 */
declare const SILOPOOL_PRECOMPUTED_MONEY_FORMATS: Record<string, string> | undefined;

const moneyFormats = new Map<string, string>(
  typeof SILOPOOL_PRECOMPUTED_MONEY_FORMATS === 'undefined'
    ? []
    : Object.entries(SILOPOOL_PRECOMPUTED_MONEY_FORMATS),
);

/** The money format of every currency Intl knows in `locale`, by `moneyFormat`'s cache key (for the bundle). */
export function precomputeMoneyFormats(locale = 'en-US'): Record<string, string> {
  return Object.fromEntries(
    Intl.supportedValuesOf('currency').map((c) => [moneyKey(c, locale), buildMoneyFormat(c, locale)]),
  );
}

function buildMoneyFormat(currency: string, locale: string): string {
  let symbol = currency;
  let prefix = true;
  let decimals = 2;
  try {
    const nf = new Intl.NumberFormat(locale, { style: 'currency', currency });
    const parts = nf.formatToParts(1);
    symbol = parts.find((p) => p.type === 'currency')?.value ?? currency;
    prefix = parts.findIndex((p) => p.type === 'currency') < parts.findIndex((p) => p.type === 'integer');
    decimals = nf.resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    // An unknown currency code or locale keeps the ISO code as the symbol.
  }
  const digits = decimals > 0 ? `#,##0.${'0'.repeat(decimals)}` : '#,##0';
  const sym = `"${symbol.replace(/"/g, '')}"`;
  // Separators in a format code are always `,` and `.`; Excel shows them in the reader's locale.
  return prefix ? `${sym}${digits};-${sym}${digits}` : `${digits} ${sym};-${digits} ${sym}`;
}

/**
 * The formatting a job's workbook is written with: money in the job's currency. The tenant's own number
 * format is kept only when it is for that currency (it may spell a symbol, `[$€-407]`).
 */
export function formattingForCurrency(formatting: Formatting, currency: string): Formatting {
  const { numberFormat, ...rest } = formatting;
  return formatting.currency === currency && numberFormat !== undefined
    ? { ...rest, currency, numberFormat }
    : { ...rest, currency };
}

/** Style order is the `s` index written into cells. */
export const STYLE_ORDER: readonly StyleName[] = [
  'default',
  'header',
  'title',
  'label',
  'bold',
  'colHeader',
  'money',
  'moneyBold',
  'moneyInput',
  'percent',
  'percentInput',
  'number',
  'numberInput',
  'factor',
  'integer',
  'integerInput',
  'date',
  'dateInput',
  'textInput',
  'note',
  'fixed',
];

export const STYLE_INDEX: Record<StyleName, number> = Object.fromEntries(
  STYLE_ORDER.map((s, i) => [s, i]),
) as Record<StyleName, number>;

// [numFmtId, fontId, fillId, borderId, centered]
const XF: Record<StyleName, [number, number, number, number, boolean?]> = {
  default: [0, 0, 0, 0],
  header: [0, 2, 2, 0],
  title: [0, 4, 0, 0],
  label: [0, 0, 0, 0],
  bold: [0, 1, 0, 0],
  colHeader: [1, 1, 3, 1, true],
  money: [164, 0, 0, 0],
  moneyBold: [164, 1, 0, 2],
  moneyInput: [164, 3, 4, 0],
  percent: [10, 0, 0, 0],
  percentInput: [10, 3, 4, 0],
  number: [166, 0, 0, 0],
  numberInput: [166, 3, 4, 0],
  factor: [167, 0, 0, 0],
  integer: [1, 0, 0, 0],
  integerInput: [1, 3, 4, 0],
  date: [165, 0, 0, 0],
  dateInput: [165, 3, 4, 0],
  textInput: [0, 3, 4, 0],
  note: [0, 5, 0, 0],
  fixed: [0, 0, 3, 0],
};

/** Input styles stay editable on a protected sheet; every other cell is locked (Excel's default). */
const isInput = (name: StyleName) => name.endsWith('Input');

/** styles.xml: brand colour fills the header band; inputs are blue on yellow, the modelling convention. */
export function stylesXml(formatting: Formatting): string {
  const brand = /^[0-9a-fA-F]{6}$/.test(formatting.brandColor ?? '') ? formatting.brandColor! : '1F4E79';
  const money = formatting.numberFormat ?? moneyFormat(formatting.currency, formatting.locale);
  const date = formatting.dateFormat ?? 'yyyy-mm-dd';
  const xfs = STYLE_ORDER.map((name) => {
    const [fmt, font, fill, border, center] = XF[name];
    const attrs = `numFmtId="${fmt}" fontId="${font}" fillId="${fill}" borderId="${border}" xfId="0"${
      fmt ? ' applyNumberFormat="1"' : ''
    }${font ? ' applyFont="1"' : ''}${fill ? ' applyFill="1"' : ''}${border ? ' applyBorder="1"' : ''}`;
    const inner = `${center ? '<alignment horizontal="center"/>' : ''}${
      isInput(name) ? '<protection locked="0"/>' : ''
    }`;
    const apply = `${center ? ' applyAlignment="1"' : ''}${isInput(name) ? ' applyProtection="1"' : ''}`;
    return inner ? `<xf ${attrs}${apply}>${inner}</xf>` : `<xf ${attrs}/>`;
  }).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' +
    `<numFmts count="4"><numFmt numFmtId="164" formatCode="${escapeXml(money)}"/>` +
    `<numFmt numFmtId="165" formatCode="${escapeXml(date)}"/>` +
    '<numFmt numFmtId="166" formatCode="#,##0.00"/><numFmt numFmtId="167" formatCode="0.000000"/></numFmts>' +
    '<fonts count="6">' +
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>' +
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>' +
    '<font><b/><sz val="12"/><color rgb="FFFFFFFF"/><name val="Calibri"/><family val="2"/></font>' +
    '<font><sz val="11"/><color rgb="FF0000FF"/><name val="Calibri"/><family val="2"/></font>' +
    '<font><b/><sz val="14"/><name val="Calibri"/><family val="2"/></font>' +
    '<font><i/><sz val="10"/><color rgb="FF595959"/><name val="Calibri"/><family val="2"/></font>' +
    '</fonts>' +
    '<fills count="5"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>' +
    `<fill><patternFill patternType="solid"><fgColor rgb="FF${brand.toUpperCase()}"/><bgColor indexed="64"/></patternFill></fill>` +
    '<fill><patternFill patternType="solid"><fgColor rgb="FFF2F2F2"/><bgColor indexed="64"/></patternFill></fill>' +
    '<fill><patternFill patternType="solid"><fgColor rgb="FFFFF2CC"/><bgColor indexed="64"/></patternFill></fill>' +
    '</fills>' +
    '<borders count="3"><border><left/><right/><top/><bottom/><diagonal/></border>' +
    '<border><left/><right/><top/><bottom style="thin"><color auto="1"/></bottom><diagonal/></border>' +
    '<border><left/><right/><top style="thin"><color auto="1"/></top><bottom/><diagonal/></border></borders>' +
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
    `<cellXfs count="${STYLE_ORDER.length}">${xfs}</cellXfs>` +
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' +
    '</styleSheet>'
  );
}
