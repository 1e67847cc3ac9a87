import { type Check, isNear, isNearZero, near, nearZero, TOL_TEXT } from '../xlsx/checks.ts';
import type { FundsResult } from './run.ts';
import type { FundsInput } from './schema.ts';

export interface FlowRefs {
  range: (key: string) => string;
  lastCell: (key: string) => string;
  /** Period rows the Cash flows sheet holds. */
  rows: number;
}

/** The fund's cash-flow identities as live checks (see `checksSheet`), each with its value for this run. */
export function fundsChecks(
  res: FundsResult,
  input: FundsInput,
  I: Record<string, string>,
  ref: FlowRefs,
): Check[] {
  const p = res.path;
  const N = res.rates.periods;
  const gP = (1 + input.growthRate) ** (1 / input.periodsPerYear) - 1;
  const S = (key: string) => `SUM(${ref.range(key)})`;
  const C = sum(p.contribution);
  const D = sum(p.distribution);
  const navEnd = p.nav[N - 1] ?? 0;
  const lpPaidIn = p.lpPaidIn[N - 1] ?? 0;
  return [
    {
      label: 'Fund liquidated: NAV at the end of the fund life is 0',
      formula: nearZero(`INDEX(${ref.range('nav')},${I['N']})`, I['commit']!),
      ok: isNearZero(navEnd, input.commitment),
    },
    {
      label: 'NAV = contributions − distributions + growth of NAV (summed over the periods)',
      formula: nearZero(
        `${ref.lastCell('nav')}-(${S('C')}-${S('D')}+${I['gP']}*(${S('nav')}-${ref.lastCell('nav')}))`,
        `MAX(${S('C')},${S('D')})`,
      ),
      ok: isNearZero(navEnd - (C - D + gP * (sum(p.nav) - navEnd)), Math.max(C, D)),
    },
    {
      label: 'LP paid-in = contributions + management fees',
      formula: near(ref.lastCell('lpPaidIn'), `${S('C')}+${S('fee')}`),
      ok: isNear(lpPaidIn, C + sum(p.fee)),
    },
    {
      label: 'Fund distributions = LP distributions + carried interest',
      formula: near(S('D'), `${S('lpD')}+${S('gp')}`),
      ok: isNear(D, sum(p.lpDistribution) + sum(p.carry)),
    },
    {
      label: 'Cumulative LP net cash flow = LP distributions − LP paid-in',
      formula: near(
        ref.lastCell('cumNet'),
        `${ref.lastCell('cumLpD')}-${ref.lastCell('lpPaidIn')}`,
        ref.lastCell('cumLpD'),
        ref.lastCell('lpPaidIn'),
      ),
      ok: isNear(
        p.cumNetCashFlow[N - 1] ?? 0,
        (p.cumLpDistribution[N - 1] ?? 0) - lpPaidIn,
        p.cumLpDistribution[N - 1] ?? 0,
        lpPaidIn,
      ),
    },
    {
      label: 'Capital called never exceeds the commitment',
      formula: `MAX(${ref.range('paidIn')})<=${I['commit']}*(1+${TOL_TEXT})`,
      ok: Math.max(0, ...p.paidIn) <= input.commitment * (1 + 1e-9),
    },
    // Conditions on pairs of inputs that Excel's data validation cannot hold (it checks only the cell typed
    // into, and not a cleared one): the API refuses an input that breaks either (checkFunds).
    {
      label: 'Fee step-down: the year and the rate after it are both set, or both blank',
      formula: `ISNUMBER(${I['stepAfter']})=ISNUMBER(${I['stepRate']})`,
      ok: true,
    },
    {
      // On the calls themselves, not the rates: a rate of 1e-17 is above 0 and calls nothing (checkFunds), which
      // leaves paid-in 0 and TVPI, DPI and RVPI "n/a".
      label:
        'Capital is called: contributions over the fund life above 0 (a contribution rate that calls some, or a last contribution year)',
      formula: `${S('C')}>0`,
      ok: C > 0,
    },
    {
      label: `Periods per year is 1 or 4, so the Cash flows sheet (${ref.rows} period rows) holds every period`,
      formula: `AND(OR(${I['P']}=1,${I['P']}=4),${I['N']}<=${ref.rows})`,
      ok: true,
    },
  ];
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}
