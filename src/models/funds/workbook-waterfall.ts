import { catchUpAmount } from './project.ts';
import type { FundsResult } from './run.ts';
import type { FundsInput } from './schema.ts';
import type { FlowColumn } from './workbook-flow.ts';

/** The catch-up tier as a formula: what of `rem` the GP takes until it holds its carry share of `pb`. */
export type CatchUp = (rem: string, pb: string, prior?: string) => string;

/** The waterfall's columns of the Cash flows sheet (`projectFund`'s European or American branch). */
export function waterfallColumns(
  res: FundsResult,
  input: FundsInput,
  I: Record<string, string>,
  catchUp: CatchUp,
): FlowColumn[] {
  const p = res.path;
  const { rate: carry, catchUp: c } = input.carry;
  const at = (a: Float64Array) => (i: number) => a[i]!;
  const hp = `(1+${I['hP']})`;
  return input.carry.waterfall === 'european'
    ? [
        {
          key: 'tier1',
          header: 'To LPs up to hurdle',
          style: 'money',
          formula: (cur, prev) => `MIN(${cur('D')},${prev('H')}*${hp}+${cur('lpC')})`,
          value: at(p.tier1),
        },
        {
          key: 'H',
          header: 'Hurdle account',
          style: 'money',
          initial: true,
          formula: (cur, prev) => `${prev('H')}*${hp}+${cur('lpC')}-${cur('tier1')}`,
          value: at(p.hurdle),
        },
        {
          key: 'rem',
          header: 'Above hurdle',
          style: 'money',
          formula: (cur) => `${cur('D')}-${cur('tier1')}`,
          value: at(p.remainder),
        },
        {
          key: 'pb',
          header: 'Profit before catch-up',
          style: 'money',
          formula: (cur, prev) => `${prev('cd')}+${cur('tier1')}-${cur('lpPaidIn')}`,
          value: at(p.profitBefore),
        },
        {
          key: 'x',
          header: 'Catch-up tier',
          style: 'money',
          formula: (cur, prev) => catchUp(cur('rem'), cur('pb'), prev('cumCarry')),
          value: (i) => catchUpAmount(p.remainder[i]!, p.profitBefore[i]!, p.cumCarry[i - 1] ?? 0, c, carry),
        },
      ]
    : [
        {
          key: 'hAmt',
          header: 'Realised cost + hurdle',
          style: 'money',
          formula: (cur, prev) =>
            `IF(${cur('t')}=${I['N']},${prev('H')}*${hp}+${cur('C')},${cur('rd')}*${prev('H')}*${hp})`,
          value: at(p.realisedHurdle),
        },
        {
          key: 'H',
          header: 'Cost + accrued hurdle',
          style: 'money',
          initial: true,
          formula: (cur, prev) => `IF(${cur('t')}=${I['N']},0,${prev('H')}*${hp}-${cur('hAmt')}+${cur('C')})`,
          value: at(p.hurdle),
        },
        {
          key: 'tier1',
          header: 'To LPs up to hurdle',
          style: 'money',
          formula: (cur) => `MIN(${cur('D')},${cur('hAmt')})`,
          value: at(p.tier1),
        },
        {
          key: 'rem',
          header: 'Above hurdle',
          style: 'money',
          formula: (cur) => `${cur('D')}-${cur('tier1')}`,
          value: at(p.remainder),
        },
        {
          key: 'pb',
          header: 'Realised profit',
          style: 'money',
          formula: (cur) => `${cur('tier1')}-${cur('cost')}`,
          value: at(p.profitBefore),
        },
        {
          key: 'x',
          header: 'Catch-up tier',
          style: 'money',
          formula: (cur) => catchUp(cur('rem'), cur('pb')),
          value: (i) => catchUpAmount(p.remainder[i]!, p.profitBefore[i]!, 0, c, carry),
        },
      ];
}
