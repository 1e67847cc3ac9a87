import { strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { Formatting } from '../../src/core/tenant.ts';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput, schemaForTenant } from '../../src/models/rules.ts';
import { tenantRules } from '../../src/models/tenant-rules.ts';
import { readXlsx } from './xlsx-read.ts';

// Issue 13, kind 2: one currency truth. The tenant's currency is the default of the job's; money is
// formatted in the job's currency in the workbook's number formats, its unit column and the API summary.
const finance = getModel('finance');
const funds = getModel('funds');

async function job(model: typeof finance, raw: object, formatting: Formatting) {
  const rules = tenantRules(model, { rules: {}, formatting });
  const { effectiveInput } = resolveInput(model, rules, raw);
  const result = model.run(effectiveInput, rules);
  const book = readXlsx(await model.workbook(result, effectiveInput, formatting));
  const moneyFormat = /<numFmt numFmtId="164" formatCode="([^"]*)"/.exec(
    strFromU8(book.files['xl/styles.xml']!),
  )![1]!;
  const units = book.sheets[0]!.cells.filter((c) => c.col === 2).map((c) => c.value);
  return {
    effectiveInput,
    summary: model.summary(result, rules) as { currency: string },
    moneyFormat,
    units,
  };
}

describe('one currency truth', () => {
  it('tenant EUR, job USD: money shows $, the unit column and the summary say USD', async () => {
    const j = await job(finance, { currency: 'USD', loan: {} }, { currency: 'EUR', locale: 'de-DE' });
    expect(j.moneyFormat).toContain('$');
    expect(j.moneyFormat).not.toContain('€');
    expect(j.units.filter((u) => u === 'USD').length).toBeGreaterThanOrEqual(3);
    expect(j.units).not.toContain('EUR');
    expect(j.summary.currency).toBe('USD');
  });

  it('{"currency":"JPY"} with no tenant currency formats yen with no decimals, not $', async () => {
    const j = await job(funds, { currency: 'JPY' }, {});
    expect(j.moneyFormat).toContain('¥');
    expect(j.moneyFormat).not.toMatch(/\$|\.00/);
    expect(j.summary.currency).toBe('JPY');
  });

  it("the tenant's currency is the default of the job's, in the form and in the run", async () => {
    const j = await job(finance, {}, { currency: 'EUR', locale: 'de-DE' });
    expect((j.effectiveInput as { currency: string }).currency).toBe('EUR');
    expect(j.moneyFormat).toContain('€');
    expect(j.summary.currency).toBe('EUR');
    const schema = schemaForTenant(
      finance,
      tenantRules(finance, { rules: {}, formatting: { currency: 'EUR' } }),
    );
    expect((schema['properties'] as { currency: { default: string } }).currency.default).toBe('EUR');
    // A tenant rule for the currency wins over the formatting's.
    const fixedRules = tenantRules(finance, {
      rules: { finance: { fixed: { currency: 'CHF' } } },
      formatting: { currency: 'EUR' },
    });
    expect(resolveInput(finance, fixedRules, {}).effectiveInput).toMatchObject({ currency: 'CHF' });
  });

  it('a tenant number format is kept for its own currency only', async () => {
    const formatting: Formatting = { currency: 'EUR', numberFormat: '#,##0.00 [$€-407]' };
    expect((await job(finance, { currency: 'EUR' }, formatting)).moneyFormat).toBe('#,##0.00 [$€-407]');
    expect((await job(finance, { currency: 'GBP' }, formatting)).moneyFormat).toContain('£');
  });
});
