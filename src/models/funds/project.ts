import { type PeriodRates, perPeriodGrowth } from './rates.ts';
import type { FundsInput } from './schema.ts';

/** One projected path, every line per period (index t − 1). Names follow the Cash flows sheet. */
export interface FundPath {
  rc: Float64Array;
  rdAnnual: Float64Array;
  rd: Float64Array;
  growth: Float64Array;
  contribution: Float64Array;
  paidIn: Float64Array;
  distribution: Float64Array;
  nav: Float64Array;
  feeRate: Float64Array;
  feeBasis: Float64Array;
  fee: Float64Array;
  lpContribution: Float64Array;
  lpPaidIn: Float64Array;
  /** European: hurdle account after the period; American: pref-accrued cost basis. */
  hurdle: Float64Array;
  /** Cost of the unrealised portfolio (net invested capital) after the period. */
  costBasis: Float64Array;
  /** Cost of this period's realisation; American only: its cost plus hurdle (`realisedHurdle`). */
  realisedCost: Float64Array;
  realisedHurdle: Float64Array;
  tier1: Float64Array;
  remainder: Float64Array;
  profitBefore: Float64Array;
  carry: Float64Array;
  cumDistribution: Float64Array;
  cumCarry: Float64Array;
  accruedCarry: Float64Array;
  lpDistribution: Float64Array;
  lpNav: Float64Array;
  netCashFlow: Float64Array;
  cumNetCashFlow: Float64Array;
  cumLpDistribution: Float64Array;
  /** (LP distributions to date + LP NAV) / LP paid-in to date; NaN while paid-in is 0 (undefined, not 0). */
  tvpi: Float64Array;
}

/** An object literal, not Object.fromEntries: a dictionary-mode object makes each store a hash lookup. */
export function newPath(N: number): FundPath {
  return {
    rc: new Float64Array(N),
    rdAnnual: new Float64Array(N),
    rd: new Float64Array(N),
    growth: new Float64Array(N),
    contribution: new Float64Array(N),
    paidIn: new Float64Array(N),
    distribution: new Float64Array(N),
    nav: new Float64Array(N),
    feeRate: new Float64Array(N),
    feeBasis: new Float64Array(N),
    fee: new Float64Array(N),
    lpContribution: new Float64Array(N),
    lpPaidIn: new Float64Array(N),
    hurdle: new Float64Array(N),
    costBasis: new Float64Array(N),
    realisedCost: new Float64Array(N),
    realisedHurdle: new Float64Array(N),
    tier1: new Float64Array(N),
    remainder: new Float64Array(N),
    profitBefore: new Float64Array(N),
    carry: new Float64Array(N),
    cumDistribution: new Float64Array(N),
    cumCarry: new Float64Array(N),
    accruedCarry: new Float64Array(N),
    lpDistribution: new Float64Array(N),
    lpNav: new Float64Array(N),
    netCashFlow: new Float64Array(N),
    cumNetCashFlow: new Float64Array(N),
    cumLpDistribution: new Float64Array(N),
    tvpi: new Float64Array(N),
  };
}

/**
 * The carry on a distribution beyond the hurdle: a catch-up tier where the GP takes `catchUp` of
 * each unit until it holds `carry` of the profit, then a `carry` split. With catch-up at or below
 * the carry rate the GP could never catch up, so the split applies at once.
 */
export function carryOnExcess(
  remainder: number,
  profitBefore: number,
  carryPaid: number,
  catchUp: number,
  carry: number,
) {
  const x = catchUpAmount(remainder, profitBefore, carryPaid, catchUp, carry);
  return catchUp * x + carry * (remainder - x);
}

/** The part of `remainder` that falls in the catch-up tier. */
export function catchUpAmount(
  remainder: number,
  profitBefore: number,
  carryPaid: number,
  catchUp: number,
  carry: number,
) {
  return catchUp > carry
    ? Math.min(remainder, Math.max(0, (carry * profitBefore - carryPaid) / (catchUp - carry)))
    : 0;
}

/**
 * Takahashi–Alexander gross flows, fees and the carry waterfall along one growth path (per-period
 * growth rates). Every expression has the operand order of its workbook formula.
 */
export function projectFund(
  input: FundsInput,
  rates: PeriodRates,
  growth: ArrayLike<number>,
  into?: FundPath,
): FundPath {
  const N = rates.periods;
  const P = rates.perYear;
  const out = into ?? newPath(N);
  const commit = input.commitment;
  const fee = input.managementFee;
  const { rate: carryRate, catchUp: c, waterfall } = input.carry;
  const hP = perPeriodGrowth(input.carry.hurdleRate, P);
  let navPrev = 0;
  let paidInPrev = 0;
  let lpPaidInPrev = 0;
  let hurdlePrev = 0;
  let basisPrev = 0;
  let cdPrev = 0;
  let gpPrev = 0;
  let cumNetPrev = 0;
  let cumLpdPrev = 0;
  for (let i = 0; i < N; i++) {
    const t = i + 1;
    const final = t === N;
    const g = growth[i]!;
    const rc = rates.rc[i]!;
    const C = rc * (commit - paidInPrev);
    const paidIn = paidInPrev + C;
    const rdA = rates.rdAnnual[i]!;
    const rd = rates.rd[i]!;
    // Everything left, including a last call, is distributed at L.
    const D = final ? navPrev * (1 + g) + C : rd * navPrev * (1 + g);
    const nav = navPrev * (1 + g) + C - D;
    // A distribution realises the fraction rd of the portfolio, so the same fraction of its cost; at L all of it.
    const cost = final ? basisPrev + C : rd * basisPrev;
    const basis = final ? 0 : basisPrev - cost + C;
    const stepped = fee.stepDownAfterYear !== undefined && rates.fundYear[i]! > fee.stepDownAfterYear;
    const feeRate = stepped ? (fee.stepDownRate ?? fee.rate) : fee.rate;
    // Invested: capital called to date less the cost of investments realised before this period (ILPA).
    const feeBasis = fee.basis === 'committed' ? commit : fee.basis === 'invested' ? basisPrev + C : navPrev;
    const F = (feeRate / P) * feeBasis;
    const lpC = C + F;
    const lpPaidIn = lpPaidInPrev + lpC;
    let tier1: number;
    let hurdle: number;
    let profitBefore: number;
    let gp: number;
    let accrued: number;
    let hAmt = 0;
    const cd = cdPrev + D;
    if (waterfall === 'european') {
      // Whole fund: LPs get paid-in (with fees) plus the compounded hurdle back before any carry.
      const hurdlePre = hurdlePrev * (1 + hP) + lpC;
      tier1 = Math.min(D, hurdlePre);
      hurdle = hurdlePre - tier1;
      profitBefore = cdPrev + tier1 - lpPaidIn;
      gp = carryOnExcess(D - tier1, profitBefore, gpPrev, c, carryRate);
      const a1 = Math.min(nav, hurdle);
      accrued = carryOnExcess(nav - a1, cd + a1 - lpPaidIn, gpPrev + gp, c, carryRate);
    } else {
      // Deal by deal: each distribution realises a fraction rd of the portfolio, its cost (`cost`) and the
      // hurdle accrued on it. At L the whole portfolio is realised; exact zeros keep dust out of the LP NAV.
      hAmt = final ? hurdlePrev * (1 + hP) + C : rd * hurdlePrev * (1 + hP);
      hurdle = final ? 0 : hurdlePrev * (1 + hP) - hAmt + C;
      tier1 = Math.min(D, hAmt);
      profitBefore = tier1 - cost;
      gp = carryOnExcess(D - tier1, profitBefore, 0, c, carryRate);
      const a1 = Math.min(nav, hurdle);
      accrued = carryOnExcess(nav - a1, a1 - basis, 0, c, carryRate);
    }
    const lpD = D - gp;
    const lpNav = nav - accrued;
    const net = lpD - lpC;
    const cumNet = cumNetPrev + net;
    const cumLpd = cumLpdPrev + lpD;
    out.rc[i] = rc;
    out.rdAnnual[i] = rdA;
    out.rd[i] = rd;
    out.growth[i] = g;
    out.contribution[i] = C;
    out.paidIn[i] = paidIn;
    out.distribution[i] = D;
    out.nav[i] = nav;
    out.feeRate[i] = feeRate;
    out.feeBasis[i] = feeBasis;
    out.fee[i] = F;
    out.lpContribution[i] = lpC;
    out.lpPaidIn[i] = lpPaidIn;
    out.hurdle[i] = hurdle;
    out.costBasis[i] = basis;
    out.realisedCost[i] = cost;
    out.realisedHurdle[i] = hAmt;
    out.tier1[i] = tier1;
    out.remainder[i] = D - tier1;
    out.profitBefore[i] = profitBefore;
    out.carry[i] = gp;
    out.cumDistribution[i] = cd;
    out.cumCarry[i] = gpPrev + gp;
    out.accruedCarry[i] = accrued;
    out.lpDistribution[i] = lpD;
    out.lpNav[i] = lpNav;
    out.netCashFlow[i] = net;
    out.cumNetCashFlow[i] = cumNet;
    out.cumLpDistribution[i] = cumLpd;
    // Undefined before anything is paid in (a fund calling nothing in its first year, fees not on commitment).
    out.tvpi[i] = lpPaidIn > 0 ? (cumLpd + lpNav) / lpPaidIn : Number.NaN;
    navPrev = nav;
    paidInPrev = paidIn;
    lpPaidInPrev = lpPaidIn;
    hurdlePrev = hurdle;
    basisPrev = basis;
    cdPrev = cd;
    gpPrev += gp;
    cumNetPrev = cumNet;
    cumLpdPrev = cumLpd;
  }
  return out;
}
