import ExcelJS from 'exceljs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { safeSheetName } from '../../src/models/xlsx/cells.ts';
import { writeXlsx } from '../../src/models/xlsx/writer.ts';
import { cellText, MAX_CELL_TEXT } from '../../src/models/xlsx/xml.ts';

// Issue 13, kind 10: every string the writer emits is one a spreadsheet reads back as the text the
// model meant. The reader is exceljs (its own zip and XML parser). exceljs 4.4 decodes ST_Xstring
// escapes (`_xHHHH_`) in shared strings but not in inline strings, so that one step, as ECMA-376
// §22.9.2.19 defines it, is applied here to what it read.
const decodeXstring = (s: string) =>
  s.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** The text Excel should show for `s`: XML-forbidden characters gone, cut to 32,767 units on a whole character. */
function expected(s: string): string {
  const kept = Array.from(s)
    .filter((ch) => {
      const c = ch.codePointAt(0)!;
      const lone = ch.length === 1 && c >= 0xd800 && c <= 0xdfff;
      return !lone && (c === 9 || c === 10 || c === 13 || (c >= 0x20 && c !== 0xfffe && c !== 0xffff));
    })
    .join('');
  let out = '';
  for (const ch of kept) {
    if (out.length + ch.length > MAX_CELL_TEXT) break;
    out += ch;
  }
  return out;
}

async function readBack(texts: string[]): Promise<unknown[]> {
  const bytes = writeXlsx(
    { sheets: [{ name: 'Text', rows: texts.map((v) => [{ v }, { f: 'A1', v }]) }] },
    {},
  );
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(Buffer.from(bytes) as unknown as ArrayBuffer);
  const sheet = book.getWorksheet('Text')!;
  return texts.map((_, i) => {
    const v = sheet.getRow(i + 1).getCell(1).value;
    return v === null || v === undefined ? '' : decodeXstring(String(v));
  });
}

const pieces = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }), // any code unit: lone surrogates, controls, U+FFFE/F
  fc.constantFrom(
    '_x000D_',
    '_x005F_',
    '_x00ad_',
    '_xD83D_',
    '_X000D_',
    '_x12',
    '\r',
    '\r\n',
    '\n',
    '\t',
    ' ',
    '&<>"\'',
  ),
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\uFFFE', '\uFFFF', '\uD800', '\uDFFF', '😀', '\u{10FFFF}'),
);
const text = fc.array(pieces, { maxLength: 12 }).map((xs) => xs.join(''));

describe('SpreadsheetML text round-trips through an independent reader', () => {
  it('random Unicode text, `_xHHHH_` patterns, CR, controls and lone surrogates', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 20 }), async (texts) => {
        expect(await readBack(texts)).toEqual(texts.map(expected));
      }),
      { numRuns: 60 },
    );
  });

  it('cell text is capped at 32,767 UTF-16 units without splitting a surrogate pair', async () => {
    const long = 'a'.repeat(MAX_CELL_TEXT - 1) + '😀tail';
    const exact = 'b'.repeat(MAX_CELL_TEXT);
    const [cut, kept] = (await readBack([long, exact])) as string[];
    expect(cut).toBe('a'.repeat(MAX_CELL_TEXT - 1));
    expect(kept).toBe(exact);
  });

  it('known cases written as ECMA-376 says', () => {
    expect(cellText('a_x000D_b')).toBe('a_x005F_x000D_b');
    expect(cellText('line1\r\nline2')).toBe('line1_x000D_\nline2');
    expect(cellText('bell\u0007 & <tag>')).toBe('bell &amp; &lt;tag&gt;');
    expect(cellText('lone \uD800 pair 😀')).toBe('lone  pair 😀');
    expect(cellText('plain text')).toBe('plain text');
  });
});

describe('sheet names within Excel rules', () => {
  it('drops forbidden characters and end apostrophes, cuts at 31 on a whole character', () => {
    expect(safeSheetName("'Q1/Q2: [draft]'")).toBe('Q1 Q2   draft');
    expect(safeSheetName("Übersicht's")).toBe("Übersicht's");
    expect(safeSheetName(`${'x'.repeat(30)}😀`)).toBe('x'.repeat(30));
    expect(safeSheetName('\u0001\uD800')).toBe('Sheet');
  });
});
