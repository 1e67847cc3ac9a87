import type { InputRow } from '../xlsx/layout.ts';
import type { FundsResult } from './run.ts';
import type { FundsInput } from './schema.ts';

const decimal = (min: number, max: number, allowBlank = false): InputRow['accepts'] => ({
  kind: 'decimal',
  min,
  max,
  message: `The model accepts ${min} to ${max} here.`,
  ...(allowBlank ? { allowBlank } : {}),
});
const whole = (min: number, max: number, allowBlank = false): InputRow['accepts'] => ({
  kind: 'whole',
  min,
  max,
  message: `The model accepts whole numbers from ${min} to ${max} here.`,
  ...(allowBlank ? { allowBlank } : {}),
});

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
      accepts: decimal(0, 1e13),
    },
    {
      key: 'vintage',
      label: 'Vintage year',
      value: input.vintageYear,
      style: 'integerInput',
      accepts: whole(1950, 2200),
    },
    { key: 'L', label: 'Fund life (L)', value: L, style: 'fixed', unit: 'years' },
    {
      key: 'P',
      label: 'Periods per year',
      value: input.periodsPerYear,
      style: 'integerInput',
      unit: '1 (years) or 4 (quarters)',
      accepts: { kind: 'list', values: [1, 4], message: '1 for years, 4 for quarters' },
    },
    { key: 'B', label: 'Bow (B)', value: input.bow, style: 'numberInput', accepts: decimal(0, 20) },
    {
      key: 'G',
      label: 'Growth rate (G)',
      value: input.growthRate,
      style: 'percentInput',
      unit: 'per year',
      accepts: decimal(-0.99, 2),
    },
    {
      key: 'Y',
      label: 'Yield (Y)',
      value: input.yield,
      style: 'percentInput',
      unit: 'per year',
      accepts: decimal(0, 1),
    },
    {
      key: 'feeRate',
      label: 'Management fee',
      value: fee.rate,
      style: 'percentInput',
      unit: 'per year',
      accepts: decimal(0, 0.1),
    },
    {
      key: 'feeBasis',
      label: 'Fee basis',
      value: fee.basis,
      style: 'textInput',
      unit: 'committed | invested | nav',
      accepts: {
        kind: 'list',
        values: ['committed', 'invested', 'nav'],
        message: 'committed, invested or nav',
      },
    },
    {
      key: 'stepAfter',
      label: 'Fee step-down after fund year',
      value: fee.stepDownAfterYear,
      style: 'integerInput',
      unit: 'blank: no step-down',
      accepts: whole(1, 30, true),
    },
    {
      key: 'stepRate',
      label: 'Fee after step-down',
      value: fee.stepDownRate,
      style: 'percentInput',
      accepts: decimal(0, 0.1, true),
    },
    {
      key: 'carry',
      label: 'Carried interest',
      value: input.carry.rate,
      style: 'percentInput',
      accepts: decimal(0, 0.5),
    },
    {
      key: 'hurdle',
      label: 'Hurdle rate',
      value: input.carry.hurdleRate,
      style: 'percentInput',
      unit: 'per year',
      accepts: decimal(0, 0.5),
    },
    {
      key: 'catchUp',
      label: 'GP catch-up',
      value: input.carry.catchUp,
      style: 'percentInput',
      accepts: decimal(0, 1),
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
      accepts: whole(1, L, true),
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
      accepts: decimal(0, 1),
    });
  }
  return rows;
}
