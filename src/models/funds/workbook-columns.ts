import { catchUpAmount } from './project.ts';
import type { FundsResult } from './run.ts';
import type { FundsInput } from './schema.ts';

import type { FlowColumn } from './workbook-flow.ts';
import { type CatchUp, waterfallColumns } from './workbook-waterfall.ts';

export type { FlowColumn, Ref } from './workbook-flow.ts';

/**
 * The columns mirror `projectFund` expression by expression (same operands, same order), so that a
 * spreadsheet engine recomputes the model's values to the last bit or very nearly. The sheet holds
 * periods for 4 a year over the fund's life, so Periods per year can change: the fund year, label and
 * call rate of each row are formulas of Periods per year, and a flag marks the rows within the life.
 */
export function cashFlowColumns(
  res: FundsResult,
  input: FundsInput,
  I: Record<string, string>,
): FlowColumn[] {
  const p = res.path;
  const P = res.rates.perYear;
  const N = res.rates.periods;
  const { rate: carry, catchUp: c } = input.carry;
  const at = (a: Float64Array) => (i: number) => a[i]!;
  const fundYear = (i: number) => Math.ceil((i + 1) / P);
  const catchUp: CatchUp = (rem, pb, prior) =>
    `IF(${I['catchUp']}>${I['carry']},MIN(${rem},MAX(0,(${I['carry']}*${pb}${prior ? `-${prior}` : ''})/(${I['catchUp']}-${I['carry']}))),0)`;
  const common: FlowColumn[] = [
    { key: 't', header: 'Period t', style: 'integer', idle: 'none', value: (i) => i + 1 },
    {
      key: 'label',
      header: 'Period',
      style: 'colHeader',
      idle: 'none',
      formula: (cur) => {
        const year = `(${I['vintage']}+${cur('fy')}-1)`;
        return `IF(${I['P']}=1,${year},${year}&" Q"&(MOD(${cur('t')}-1,${I['P']})+1))`;
      },
      value: (i) => {
        const year = input.vintageYear + fundYear(i) - 1;
        return P === 1 ? year : `${year} Q${(i % P) + 1}`;
      },
    },
    {
      key: 'fy',
      header: 'Fund year',
      style: 'integer',
      idle: 'none',
      formula: (cur) => `ROUNDUP(${cur('t')}/${I['P']},0)`,
      value: fundYear,
    },
    {
      key: 'on',
      header: 'In fund life (flag)',
      style: 'integer',
      idle: 'none',
      formula: (cur) => `IF(${cur('t')}<=${I['N']},1,0)`,
      value: (i) => (i < N ? 1 : 0),
    },
    {
      key: 'rcA',
      header: 'RC (annual)',
      style: 'percent',
      // `periodRates`: the year's rate before the last call year, all that is left in its last period, then 0.
      formula: (cur) => {
        const rate = `INDEX(${I['rcTable']},${cur('fy')})`;
        return `IF(${cur('fy')}<${I['lc']},${rate},IF(${cur('fy')}=${I['lc']},IF(${cur('t')}=${cur('fy')}*${I['P']},1,${rate}),0))`;
      },
      value: (i) => res.rates.rcAnnual[i]!,
    },
    {
      key: 'rc',
      header: 'RC (period)',
      style: 'factor',
      formula: (cur) => `1-(1-${cur('rcA')})^(1/${I['P']})`,
      value: at(p.rc),
    },
    {
      key: 'C',
      header: 'Contribution',
      style: 'money',
      formula: (cur, prev) => `${cur('rc')}*(${I['commit']}-${prev('paidIn')})`,
      value: at(p.contribution),
    },
    {
      key: 'paidIn',
      idle: 'carry',
      header: 'Called to date',
      style: 'money',
      initial: true,
      formula: (cur, prev) => `${prev('paidIn')}+${cur('C')}`,
      value: at(p.paidIn),
    },
    {
      key: 'rdA',
      header: 'RD (annual)',
      style: 'factor',
      formula: (cur) => `MAX(${I['Y']},(${cur('t')}/${I['P']}/${I['L']})^${I['B']})`,
      value: at(p.rdAnnual),
    },
    {
      key: 'rd',
      header: 'RD (period)',
      style: 'factor',
      formula: (cur) => `1-(1-MIN(1,${cur('rdA')}))^(1/${I['P']})`,
      value: at(p.rd),
    },
    {
      key: 'D',
      header: 'Distribution',
      style: 'money',
      formula: (cur, prev) =>
        `IF(${cur('t')}=${I['N']},${prev('nav')}*(1+${I['gP']})+${cur('C')},${cur('rd')}*${prev('nav')}*(1+${I['gP']}))`,
      value: at(p.distribution),
    },
    {
      key: 'nav',
      header: 'NAV',
      style: 'money',
      initial: true,
      formula: (cur, prev) => `${prev('nav')}*(1+${I['gP']})+${cur('C')}-${cur('D')}`,
      value: at(p.nav),
    },
    {
      key: 'grossFlow',
      header: 'Gross net flow',
      style: 'money',
      formula: (cur) => `${cur('D')}-${cur('C')}`,
      value: (i) => p.distribution[i]! - p.contribution[i]!,
    },
    {
      key: 'cost',
      header: 'Realised cost',
      style: 'money',
      formula: (cur, prev) =>
        `IF(${cur('t')}=${I['N']},${prev('basis')}+${cur('C')},${cur('rd')}*${prev('basis')})`,
      value: at(p.realisedCost),
    },
    {
      key: 'basis',
      header: 'Invested capital (unrealised cost)',
      style: 'money',
      initial: true,
      formula: (cur, prev) => `IF(${cur('t')}=${I['N']},0,${prev('basis')}-${cur('cost')}+${cur('C')})`,
      value: at(p.costBasis),
    },
    {
      key: 'feeRate',
      header: 'Fee rate',
      style: 'percent',
      formula: (cur) =>
        `IF(AND(ISNUMBER(${I['stepAfter']}),${cur('fy')}>${I['stepAfter']}),IF(ISNUMBER(${I['stepRate']}),${I['stepRate']},${I['feeRate']}),${I['feeRate']})`,
      value: at(p.feeRate),
    },
    {
      key: 'feeBasis',
      header: 'Fee basis',
      style: 'money',
      formula: (cur, prev) =>
        `IF(${I['feeBasis']}="committed",${I['commit']},IF(${I['feeBasis']}="invested",${prev('basis')}+${cur('C')},${prev('nav')}))`,
      value: at(p.feeBasis),
    },
    {
      key: 'fee',
      header: 'Management fee',
      style: 'money',
      formula: (cur) => `${cur('feeRate')}/${I['P']}*${cur('feeBasis')}`,
      value: at(p.fee),
    },
    {
      key: 'lpC',
      header: 'LP contribution',
      style: 'money',
      formula: (cur) => `${cur('C')}+${cur('fee')}`,
      value: at(p.lpContribution),
    },
    {
      key: 'lpPaidIn',
      idle: 'carry',
      header: 'LP paid-in',
      style: 'money',
      initial: true,
      formula: (cur, prev) => `${prev('lpPaidIn')}+${cur('lpC')}`,
      value: at(p.lpPaidIn),
    },
  ];
  const waterfall = waterfallColumns(res, input, I, catchUp);
  const european = input.carry.waterfall === 'european';
  const trough = troughPeriod(p.cumNetCashFlow);
  const tail: FlowColumn[] = [
    {
      key: 'gp',
      header: 'Carried interest',
      style: 'money',
      formula: (cur) => `${I['catchUp']}*${cur('x')}+${I['carry']}*(${cur('rem')}-${cur('x')})`,
      value: at(p.carry),
    },
    {
      key: 'cd',
      idle: 'carry',
      header: 'Distributed to date',
      style: 'money',
      initial: true,
      formula: (cur, prev) => `${prev('cd')}+${cur('D')}`,
      value: at(p.cumDistribution),
    },
    {
      key: 'cumCarry',
      idle: 'carry',
      header: 'Carry to date',
      style: 'money',
      initial: true,
      formula: (cur, prev) => `${prev('cumCarry')}+${cur('gp')}`,
      value: at(p.cumCarry),
    },
    {
      key: 'liq1',
      header: 'If liquidated: to hurdle',
      style: 'money',
      formula: (cur) => `MIN(${cur('nav')},${cur('H')})`,
      value: (i) => Math.min(p.nav[i]!, p.hurdle[i]!),
    },
    {
      key: 'liqX',
      header: 'If liquidated: catch-up',
      style: 'money',
      formula: (cur) =>
        european
          ? catchUp(
              `${cur('nav')}-${cur('liq1')}`,
              `(${cur('cd')}+${cur('liq1')}-${cur('lpPaidIn')})`,
              cur('cumCarry'),
            )
          : catchUp(`${cur('nav')}-${cur('liq1')}`, `(${cur('liq1')}-${cur('basis')})`),
      value: (i) => {
        const l1 = Math.min(p.nav[i]!, p.hurdle[i]!);
        return european
          ? catchUpAmount(
              p.nav[i]! - l1,
              p.cumDistribution[i]! + l1 - p.lpPaidIn[i]!,
              p.cumCarry[i]!,
              c,
              carry,
            )
          : catchUpAmount(p.nav[i]! - l1, l1 - p.costBasis[i]!, 0, c, carry);
      },
    },
    {
      key: 'accrued',
      header: 'Accrued carry',
      style: 'money',
      formula: (cur) =>
        `${I['catchUp']}*${cur('liqX')}+${I['carry']}*(${cur('nav')}-${cur('liq1')}-${cur('liqX')})`,
      value: at(p.accruedCarry),
    },
    {
      key: 'lpD',
      header: 'LP distribution',
      style: 'money',
      formula: (cur) => `${cur('D')}-${cur('gp')}`,
      value: at(p.lpDistribution),
    },
    {
      key: 'lpNav',
      header: 'LP NAV',
      style: 'money',
      formula: (cur) => `${cur('nav')}-${cur('accrued')}`,
      value: at(p.lpNav),
    },
    {
      key: 'net',
      header: 'LP net cash flow',
      style: 'money',
      formula: (cur) => `${cur('lpD')}-${cur('lpC')}`,
      value: at(p.netCashFlow),
    },
    {
      key: 'cumNet',
      idle: 'carry',
      header: 'Cumulative net cash flow',
      style: 'moneyBold',
      initial: true,
      formula: (cur, prev) => `${prev('cumNet')}+${cur('net')}`,
      value: at(p.cumNetCashFlow),
    },
    {
      key: 'cumLpD',
      idle: 'carry',
      header: 'LP distributions to date',
      style: 'money',
      initial: true,
      formula: (cur, prev) => `${prev('cumLpD')}+${cur('lpD')}`,
      value: at(p.cumLpDistribution),
    },
    {
      key: 'tvpi',
      idle: 'carry',
      header: 'TVPI',
      style: 'number',
      // Before any paid-in the multiple is undefined: "n/a", as the model's NaN (0 read as a total loss).
      formula: (cur) =>
        `IF(${cur('lpPaidIn')}>0,(${cur('cumLpD')}+${cur('lpNav')})/${cur('lpPaidIn')},"n/a")`,
      value: (i) => (Number.isFinite(p.tvpi[i]!) ? p.tvpi[i]! : 'n/a'),
    },
    {
      key: 'be',
      header: 'Break-even (helper)',
      style: 'integer',
      idle: 'none',
      formula: (cur) =>
        `IF(AND(${cur('on')}=1,${I['trough']}>0,${cur('t')}>${I['trough']},${cur('cumNet')}>=0),${cur('t')},"")`,
      value: (i) => {
        return i < N && trough > 0 && i + 1 > trough && p.cumNetCashFlow[i]! >= 0 ? i + 1 : '';
      },
    },
  ];
  return [...common, ...waterfall, ...tail];
}

/** 1-based period of the lowest cumulative net cash flow (its first occurrence), 0 when it never goes below 0. */
export function troughPeriod(cumNet: ArrayLike<number>): number {
  let min = 0;
  let at = 0;
  for (let i = 0; i < cumNet.length; i++) {
    if (cumNet[i]! < min) {
      min = cumNet[i]!;
      at = i + 1;
    }
  }
  return at;
}
