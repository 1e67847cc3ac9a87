import type { InputRow } from '../xlsx/layout.ts';
import { acceptsEnum, acceptsField } from '../xlsx/validation.ts';
import type { FundsResult } from './run.ts';
import { type FundsInput, fundsSchema } from './schema.ts';

/** Excel data validation for a numeric input: its schema range (`acceptsField`). */
const accepts = (path: string, opts?: Parameters<typeof acceptsField>[2]) =>
  acceptsField(fundsSchema, path, opts);

/**
 * The Inputs sheet of the funds workbook. The call rate (RC) is one input per fund year, the schema's
 * `contributionRates` spelled out (later years reuse the last rate), so the per-period rows can derive
 * theirs for any Periods per year. Fund life, waterfall and currency shape the sheets: fixed.
 */
export function fundsInputRows(result: FundsResult, input: FundsInput): InputRow[] {
  const fee = input.managementFee;
  const L = input.fundLifeYears;
  const rates = input.contributionRates;
  const rcOfYear = (y: number) =>
    typeof rates === 'number' ? rates : (rates[y - 1] ?? rates[rates.length - 1] ?? 0);
  const rows: InputRow[] = [
    { key: 'currency', label: 'Currency', value: input.currency, style: 'fixed' },
    {
      key: 'commit',
      label: 'Commitment',
      value: input.commitment,
      style: 'moneyInput',
      unit: input.currency,
      accepts: accepts('commitment'),
    },
    {
      key: 'vintage',
      label: 'Vintage year',
      value: input.vintageYear,
      style: 'integerInput',
      accepts: accepts('vintageYear'),
    },
    { key: 'L', label: 'Fund life (L)', value: L, style: 'fixed', unit: 'years' },
    {
      key: 'P',
      label: 'Periods per year',
      value: input.periodsPerYear,
      style: 'integerInput',
      unit: '1 (years) or 4 (quarters)',
      accepts: acceptsEnum(fundsSchema, 'periodsPerYear', '1 for years, 4 for quarters'),
    },
    { key: 'B', label: 'Bow (B)', value: input.bow, style: 'numberInput', accepts: accepts('bow') },
    {
      key: 'G',
      label: 'Growth rate (G)',
      value: input.growthRate,
      style: 'percentInput',
      unit: 'per year',
      accepts: accepts('growthRate'),
    },
    {
      key: 'Y',
      label: 'Yield (Y)',
      value: input.yield,
      style: 'percentInput',
      unit: 'per year',
      accepts: accepts('yield'),
    },
    {
      key: 'feeRate',
      label: 'Management fee',
      value: fee.rate,
      style: 'percentInput',
      unit: 'per year',
      accepts: accepts('managementFee.rate'),
    },
    {
      key: 'feeBasis',
      label: 'Fee basis',
      value: fee.basis,
      style: 'textInput',
      unit: 'committed | invested | nav',
      accepts: acceptsEnum(fundsSchema, 'managementFee.basis', 'committed, invested or nav'),
    },
    {
      key: 'stepAfter',
      label: 'Fee step-down after fund year',
      value: fee.stepDownAfterYear,
      style: 'integerInput',
      unit: 'blank: no step-down',
      accepts: accepts('managementFee.stepDownAfterYear', { allowBlank: true }),
    },
    {
      key: 'stepRate',
      label: 'Fee after step-down',
      value: fee.stepDownRate,
      style: 'percentInput',
      accepts: accepts('managementFee.stepDownRate', { allowBlank: true }),
    },
    {
      key: 'carry',
      label: 'Carried interest',
      value: input.carry.rate,
      style: 'percentInput',
      accepts: accepts('carry.rate'),
    },
    {
      key: 'hurdle',
      label: 'Hurdle rate',
      value: input.carry.hurdleRate,
      style: 'percentInput',
      unit: 'per year',
      accepts: accepts('carry.hurdleRate'),
    },
    {
      key: 'catchUp',
      label: 'GP catch-up',
      value: input.carry.catchUp,
      style: 'percentInput',
      accepts: accepts('carry.catchUp'),
    },
    {
      key: 'waterfall',
      label: 'Waterfall',
      value: input.carry.waterfall,
      style: 'fixed',
      unit: 'the Cash flows sheet implements this one',
    },
    {
      key: 'callYear',
      label: 'Last contribution year',
      value: input.contributionYears,
      style: 'integerInput',
      unit: 'blank: none; the rest of the commitment is called in its last period',
      // checkFunds: contributionYears <= fundLifeYears.
      accepts: accepts('contributionYears', { allowBlank: true, max: L }),
    },
    {
      key: 'N',
      label: 'Periods (computed)',
      value: result.rates.periods,
      style: 'integer',
      formula: (r) => `${r['L']}*${r['P']}`,
    },
    {
      key: 'gP',
      label: 'Growth per period (computed)',
      value: (1 + input.growthRate) ** (1 / input.periodsPerYear) - 1,
      style: 'factor',
      formula: (r) => `(1+${r['G']})^(1/${r['P']})-1`,
    },
    {
      key: 'hP',
      label: 'Hurdle per period (computed)',
      value: (1 + input.carry.hurdleRate) ** (1 / input.periodsPerYear) - 1,
      style: 'factor',
      formula: (r) => `(1+${r['hurdle']})^(1/${r['P']})-1`,
    },
    {
      key: 'lc',
      label: 'Last call year (computed)',
      value: input.contributionYears === undefined ? L + 1 : Math.min(input.contributionYears, L),
      style: 'integer',
      unit: 'fund life + 1 when none is set',
      formula: (r) => `IF(ISNUMBER(${r['callYear']}),MIN(${r['callYear']},${r['L']}),${r['L']}+1)`,
    },
  ];
  for (let y = 1; y <= L; y++) {
    rows.push({
      key: `rc${y}`,
      label: `Rate of contribution (RC), fund year ${y}`,
      value: rcOfYear(y),
      style: 'percentInput',
      unit: 'of the uncalled commitment, per year',
      accepts: accepts('contributionRates', { items: true }),
    });
  }
  return rows;
}
