import type { JsonSchema } from '../types.ts';
import { type InputRow, schemaFields } from '../xlsx/layout.ts';
import { acceptsEnum, local } from '../xlsx/validation.ts';
import type { FundsResult } from './run.ts';
import { type FundsInput, fundsSchema } from './schema.ts';

/**
 * The Inputs sheet of the funds workbook. The call rate (RC) is one input per fund year, the schema's
 * `contributionRates` spelled out (later years reuse the last rate), so the per-period rows can derive
 * theirs for any Periods per year. Fund life, waterfall and currency shape the sheets: fixed.
 */
export function fundsInputRows(
  result: FundsResult,
  input: FundsInput,
  schema: JsonSchema = fundsSchema,
): InputRow[] {
  const { accepts, field } = schemaFields(schema);
  const fee = input.managementFee;
  const L = input.fundLifeYears;
  const rates = input.contributionRates;
  const rcOfYear = (y: number) =>
    typeof rates === 'number' ? rates : (rates[y - 1] ?? rates[rates.length - 1] ?? 0);
  const rows: InputRow[] = [
    { key: 'currency', label: 'Currency', value: input.currency, style: 'fixed' },
    field(
      'commitment',
      {
        key: 'commit',
        label: 'Commitment',
        value: input.commitment,
        style: 'moneyInput',
        unit: input.currency,
      },
      () => accepts('commitment'),
    ),
    field(
      'vintageYear',
      {
        key: 'vintage',
        label: 'Vintage year',
        value: input.vintageYear,
        style: 'integerInput',
      },
      () => accepts('vintageYear'),
    ),
    { key: 'L', label: 'Fund life (L)', value: L, style: 'fixed', unit: 'years' },
    field(
      'periodsPerYear',
      {
        key: 'P',
        label: 'Periods per year',
        value: input.periodsPerYear,
        style: 'integerInput',
        unit: '1 (years) or 4 (quarters)',
      },
      () => acceptsEnum(schema, 'periodsPerYear', '1 for years, 4 for quarters'),
    ),
    field('bow', { key: 'B', label: 'Bow (B)', value: input.bow, style: 'numberInput' }, () =>
      accepts('bow'),
    ),
    field(
      'growthRate',
      {
        key: 'G',
        label: 'Growth rate (G)',
        value: input.growthRate,
        style: 'percentInput',
        unit: 'per year',
      },
      () => accepts('growthRate'),
    ),
    field(
      'yield',
      {
        key: 'Y',
        label: 'Yield (Y)',
        value: input.yield,
        style: 'percentInput',
        unit: 'per year',
      },
      () => accepts('yield'),
    ),
    field(
      'managementFee.rate',
      {
        key: 'feeRate',
        label: 'Management fee',
        value: fee.rate,
        style: 'percentInput',
        unit: 'per year',
      },
      () => accepts('managementFee.rate'),
    ),
    field(
      'managementFee.basis',
      {
        key: 'feeBasis',
        label: 'Fee basis',
        value: fee.basis,
        style: 'textInput',
        unit: 'committed | invested | nav',
      },
      () => acceptsEnum(schema, 'managementFee.basis', 'committed, invested or nav'),
    ),
    field(
      'managementFee.stepDownAfterYear',
      {
        key: 'stepAfter',
        label: 'Fee step-down after fund year',
        value: fee.stepDownAfterYear,
        style: 'integerInput',
        unit: 'blank: no step-down',
      },
      () => accepts('managementFee.stepDownAfterYear', { allowBlank: true }),
    ),
    field(
      'managementFee.stepDownRate',
      {
        key: 'stepRate',
        label: 'Fee after step-down',
        value: fee.stepDownRate,
        style: 'percentInput',
      },
      () => accepts('managementFee.stepDownRate', { allowBlank: true }),
    ),
    field(
      'carry.rate',
      {
        key: 'carry',
        label: 'Carried interest',
        value: input.carry.rate,
        style: 'percentInput',
      },
      () => accepts('carry.rate'),
    ),
    field(
      'carry.hurdleRate',
      {
        key: 'hurdle',
        label: 'Hurdle rate',
        value: input.carry.hurdleRate,
        style: 'percentInput',
        unit: 'per year',
      },
      () => accepts('carry.hurdleRate'),
    ),
    field(
      'carry.catchUp',
      {
        key: 'catchUp',
        label: 'GP catch-up',
        value: input.carry.catchUp,
        style: 'percentInput',
      },
      () => accepts('carry.catchUp'),
    ),
    {
      key: 'waterfall',
      label: 'Waterfall',
      value: input.carry.waterfall,
      style: 'fixed',
      unit: 'the Cash flows sheet implements this one',
    },
    field(
      'contributionYears',
      {
        key: 'callYear',
        label: 'Last contribution year',
        value: input.contributionYears,
        style: 'integerInput',
        unit: 'blank: none; the rest of the commitment is called in its last period',
        // checkFunds: contributionYears <= fundLifeYears.
      },
      () => accepts('contributionYears', { allowBlank: true, max: L }),
    ),
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
    rows.push(
      field(
        'contributionRates',
        {
          key: `rc${y}`,
          label: `Rate of contribution (RC), fund year ${y}`,
          value: rcOfYear(y),
          style: 'percentInput',
          unit: 'of the uncalled commitment, per year',
        },
        // checkFunds: some rate above 0 or a last contribution year (else nothing is ever called). Excel
        // checks only the cell typed into, so each rate cell carries it over all of them.
        () =>
          accepts('contributionRates', {
            items: true,
            also: (_cell, I) => ({
              formula: `OR(COUNTIF(${local(I['rc1']!)}:${local(I[`rc${L}`]!)},">0")>0,ISNUMBER(${local(I['callYear']!)}))`,
              message: 'Some year must call capital (a rate above 0), or set the last contribution year.',
            }),
          }),
      ),
    );
  }
  return rows;
}
