/**
 * Which IRR. Flows that change sign more than once can have several rates at which their NPV is 0
 * (a fund whose late fees exceed its late distributions has two). Newton's method from a fixed guess
 * lands on whichever it meets first; here the NPV profile is sampled on a grid, every sign change is
 * bracketed, and the root reported is the one consistent with the flows' total gain: the first root met
 * walking from 0 towards the side the gain points to (a loss, TVPI < 1, gives the negative root nearest 0).
 */

const STEP = 0.05;

/**
 * Rates at which the NPV profile is sampled, ascending, 0 exactly among them: steps of 5 % in 1 + r
 * (ln(1 + r) every 0.05) from −99 % to +1000 % per period, then coarse towards the domain's edges.
 * Two roots closer than one step fall in one interval and are not seen; rates that close are one answer.
 * The funds workbook brackets its live IRRs on the same grid (workbook-irr.ts), so it reports the same root.
 */
export const IRR_PROFILE: readonly number[] = (() => {
  const rates = [-0.999999, -0.9999, -0.999];
  for (let k = Math.ceil(Math.log(0.01) / STEP); k <= Math.floor(Math.log(11) / STEP); k++) {
    rates.push(Math.expm1(k * STEP));
  }
  rates.push(30, 100, 1e3, 1e4, 1e6);
  return rates;
})();
const PROFILE = IRR_PROFILE;
const ZERO_AT = PROFILE.indexOf(0);

/** NPV of `values` at `r` (first value undiscounted), by Horner in v = 1/(1 + r). */
function npvAt(values: readonly number[], r: number): number {
  const v = 1 / (1 + r);
  let acc = 0;
  for (let i = values.length - 1; i >= 0; i--) acc = acc * v + values[i]!;
  return acc;
}

function npvAndSlope(values: readonly number[], r: number): [number, number] {
  const v = 1 / (1 + r);
  let value = 0;
  let dv = 0;
  for (let i = values.length - 1; i >= 0; i--) {
    dv = dv * v + value;
    value = value * v + values[i]!;
  }
  return [value, -dv * v * v];
}

/** Newton kept inside a bracket [lo, hi] where the NPV changes sign, bisecting whenever a step would leave it. */
function refine(values: readonly number[], lo: number, hi: number): number {
  let flo = npvAt(values, lo);
  let r = (lo + hi) / 2;
  for (let k = 0; k < 200; k++) {
    const [f, df] = npvAndSlope(values, r);
    if (f === 0 || !Number.isFinite(f)) return r;
    if (Math.sign(f) === Math.sign(flo)) {
      lo = r;
      flo = f;
    } else hi = r;
    let next = r - f / df;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - r) <= 4e-16 * Math.max(1, Math.abs(r)) || hi - lo <= 4e-16 * Math.max(1, Math.abs(r)))
      return next;
    r = next;
  }
  return r;
}

const signAt = (values: readonly number[], r: number): number => Math.sign(npvAt(values, r));

/** Every IRR the NPV profile shows, ascending (per period); [] when the flows never change sign. */
export function irrRoots(values: readonly number[]): number[] {
  if (!values.some((v) => v > 0) || !values.some((v) => v < 0)) return [];
  const roots: number[] = [];
  let prevRate = PROFILE[0]!;
  let prev = signAt(values, prevRate);
  for (let j = 1; j < PROFILE.length; j++) {
    const rate = PROFILE[j]!;
    const s = signAt(values, rate);
    if (s === 0) roots.push(rate);
    else if (prev !== 0 && !Number.isNaN(prev) && !Number.isNaN(s) && s !== prev) {
      roots.push(refine(values, prevRate, rate));
    }
    prevRate = rate;
    prev = s;
  }
  return roots;
}

/**
 * The IRR an investor means (per period): the root first met walking from 0 in the direction of the
 * total gain (up for a gain on money put in first, down for a loss); NaN when that side has none.
 */
export function investorIrr(values: readonly number[]): number {
  if (!values.some((v) => v > 0) || !values.some((v) => v < 0)) return NaN;
  const atZero = signAt(values, 0);
  if (atZero === 0) return 0;
  const first = Math.sign(values.find((v) => v !== 0)!);
  const step = atZero !== first ? 1 : -1;
  let prevRate = 0;
  for (let j = ZERO_AT + step; j >= 0 && j < PROFILE.length; j += step) {
    const rate = PROFILE[j]!;
    const s = signAt(values, rate);
    if (s === 0) return rate;
    if (Number.isNaN(s)) return NaN;
    if (s !== atZero) return refine(values, Math.min(prevRate, rate), Math.max(prevRate, rate));
    prevRate = rate;
  }
  return NaN;
}

/** Sign changes of the flows (zeros skipped): Descartes' bound on how many IRRs they can have. */
export function signChanges(values: readonly number[]): number {
  let changes = 0;
  let last = 0;
  for (const v of values) {
    const s = Math.sign(v);
    if (s === 0) continue;
    if (last !== 0 && s !== last) changes++;
    last = s;
  }
  return changes;
}
