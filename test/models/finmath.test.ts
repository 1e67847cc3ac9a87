import { describe, expect, it } from 'vitest';
import type { ValidationError } from '../../src/core/errors.ts';
import { edate, excelSerial, irr, npv, pmt, xirr, xnpv } from '../../src/models/finmath.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';

// Reference values are the worked examples in Microsoft's function documentation:
// PMT  https://support.microsoft.com/en-us/office/pmt-function-0214da64-9a63-4996-bc20-214433fa6441
// NPV  https://support.microsoft.com/en-us/office/npv-function-8672cb67-2576-4d07-b67b-ac28acf2a568
// IRR  https://support.microsoft.com/en-us/office/irr-function-64925eaa-9988-495b-b290-3ad0c163c1bc
// XNPV https://support.microsoft.com/en-us/office/xnpv-function-1b42bbf6-370f-4532-a0eb-d67c16b664b7
// XIRR https://support.microsoft.com/en-us/office/xirr-function-de1242ec-6477-445b-b11b-a303ad9adc9d

describe('Excel financial functions against Microsoft examples', () => {
  it('PMT(8%/12, 10, 10000) = -1,037.03 and, paid in advance, -1,030.16', () => {
    expect(pmt(0.08 / 12, 10, 10000)).toBeCloseTo(-1037.03, 2);
    expect(pmt(0.08 / 12, 10, 10000, 0, 1)).toBeCloseTo(-1030.16, 2);
  });

  it('PMT with a zero rate divides the principal evenly', () => {
    expect(pmt(0, 10, 1000)).toBe(-100);
  });

  it('NPV(10%, -10000, 3000, 4200, 6800) = 1,188.44', () => {
    expect(npv(0.1, [-10000, 3000, 4200, 6800])).toBeCloseTo(1188.44, 2);
  });

  it('IRR of -70000, 12000, 15000, 18000, 21000, 26000 is 8.66%; of the first five flows -2.12%', () => {
    const flows = [-70000, 12000, 15000, 18000, 21000, 26000];
    expect(irr(flows)).toBeCloseTo(0.0866, 4);
    expect(irr(flows.slice(0, 5))).toBeCloseTo(-0.0212, 4);
    // The documentation's third case: two years, with a guess of -10%: -44.4%.
    expect(irr(flows.slice(0, 3), -0.1)).toBeCloseTo(-0.444, 3);
  });

  it('IRR is NaN (Excel #NUM!) when flows never change sign', () => {
    expect(irr([100, 200])).toBeNaN();
  });

  const values = [-10000, 2750, 4250, 3250, 2750];
  const dates = ['2008-01-01', '2008-03-01', '2008-10-30', '2009-02-15', '2009-04-01'].map((d) =>
    excelSerial(d),
  );

  it('XNPV at 9% of the documented schedule is 2,086.65', () => {
    expect(xnpv(0.09, values, dates)).toBeCloseTo(2086.65, 2);
  });

  it('XIRR of the documented schedule is 0.373362535', () => {
    // Excel stops iterating at a 0.000001% tolerance, so its ninth decimal is not the exact root's.
    expect(xirr(values, dates)).toBeCloseTo(0.373362535, 8);
    expect(xnpv(xirr(values, dates), values, dates)).toBeCloseTo(0, 8);
  });

  it('Excel serials and EDATE: 2008-01-01 is 39448; Jan 31 + 1 month is Feb 29 in a leap year', () => {
    expect(excelSerial('2008-01-01')).toBe(39448);
    expect(edate(excelSerial('2024-01-31'), 1)).toBe(excelSerial('2024-02-29'));
    expect(edate(excelSerial('2024-01-31'), 13)).toBe(excelSerial('2025-02-28'));
  });
});

describe('Excel date serials and the 1900 leap-year rule (issue 13, kind 11; session 17)', () => {
  // Excel counts 1900-02-29, which never was, as serial 60 (Microsoft: "Excel incorrectly assumes that the
  // year 1900 is a leap year", https://learn.microsoft.com/en-us/troubleshoot/microsoft-365-apps/excel/wrongly-assumes-1900-is-leap-year);
  // LibreOffice and Google Sheets count from 1899-12-30 without it, so from 1900-03-01 (61) on every
  // spreadsheet agrees, and before it none agrees with another.
  it('1900-03-01 = 61, 1900-12-31 = 366, 1901-01-01 = 367; earlier dates and serials are not converted', () => {
    expect(excelSerial('1900-03-01')).toBe(61);
    expect(excelSerial('1900-12-31')).toBe(366);
    expect(excelSerial('1901-01-01')).toBe(367);
    for (const date of ['1900-01-01', '1900-01-31', '1900-02-28', '1899-12-31']) {
      expect(() => excelSerial(date), date).toThrow(/1900-03-01/);
    }
    expect(() => edate(60, 1)).toThrow(/1900-03-01/);
    expect(() => edate(excelSerial('1900-03-15'), -1)).toThrow(/1900-03-01/);
    expect(edate(61, 1)).toBe(excelSerial('1900-04-01'));
    expect(edate(excelSerial('1900-03-31'), 1)).toBe(excelSerial('1900-04-30'));
  });

  // A loan drawn 1900-01-29 … 1900-02-28 was accepted: its JSON put the first payment on 1900-02-28 (59) where
  // Excel's DATE/EOMONTH gave the fictional 1900-02-29 (60) and LibreOffice 60, its 1900-02-28; later rows
  // were a day apart between the JSON and LibreOffice. Such loans are now a 400 that names the first date.
  it('a loan drawn before 1900-03-01 is a 400 naming that date; 1900-03-01 is accepted', () => {
    const finance = getModel('finance');
    const loan = (startDate: string) => ({
      loan: { principal: 1000, annualRate: 0.05, termMonths: 12, startDate },
    });
    for (const start of ['1899-12-31', '1900-01-01', '1900-01-29', '1900-01-31', '1900-02-28']) {
      let problems: unknown[] = [];
      try {
        resolveInput(finance, {}, loan(start));
      } catch (e) {
        problems = (e as ValidationError).problems;
      }
      expect(problems, start).toEqual([
        expect.objectContaining({
          path: '/input/loan/startDate',
          message: expect.stringMatching(/on or after 1900-03-01/),
        }),
      ]);
    }
    const { effectiveInput } = resolveInput(finance, {}, loan('1900-03-01'));
    const result = finance.run(effectiveInput, {}) as { loan: { rows: { date: number }[] } };
    expect(result.loan.rows.slice(0, 3).map((r) => r.date)).toEqual([92, 122, 153]); // 1900-04-01, 05-01, 06-01
  });

  // Excel's last date is 9999-12-31, serial 2958465 (Microsoft, "Excel specifications and limits": latest date
  // allowed for calculation); DATE and EOMONTH answer #NUM! past it, so no payment date may fall later.
  it('a loan whose last payment falls after 9999-12-31 is refused; one ending on that day is accepted', () => {
    const finance = getModel('finance');
    const loan = (startDate: string, termMonths: number) => ({
      loan: { principal: 1000, annualRate: 0.05, termMonths, startDate },
    });
    expect(excelSerial('9999-12-31')).toBe(2958465);
    for (const [start, term] of [
      ['9990-01-31', 360],
      ['9999-12-31', 1],
      ['9999-12-01', 1],
      ['9950-01-01', 600],
    ] as const) {
      let problems: unknown[] = [];
      try {
        resolveInput(finance, {}, loan(start, term));
      } catch (e) {
        problems = (e as ValidationError).problems;
      }
      expect(problems, `${start} + ${term} months`).toEqual([
        expect.objectContaining({
          path: '/input/loan/startDate',
          message: expect.stringMatching(/9999-12-31/),
        }),
      ]);
    }
    for (const [start, term, last] of [
      ['9999-11-30', 1, 2958464], // 9999-12-30
      ['9999-06-30', 6, 2958464],
      ['9949-12-31', 600, 2958465], // 9999-12-31
      ['9999-10-31', 2, 2958465],
    ] as const) {
      const { effectiveInput } = resolveInput(finance, {}, loan(start, term));
      const result = finance.run(effectiveInput, {}) as { loan: { rows: { date: number }[] } };
      expect(result.loan.rows.at(-1)!.date).toBe(last);
    }
  });
});
