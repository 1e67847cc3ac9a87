import { expect } from 'vitest';

/**
 * The IRR per period of flows put in first, an outside check on the model's solver (irr-roots.ts) and the
 * workbook's: 0 when they sum to 0 (to 1e-12 of their absolute sum: engines leave residue there), else the root
 * nearest 0 on the side of the sum, found by walking 1 + r from 1 in steps of 0.1 % until the NPV changes sign,
 * then bisecting.
 */
export function irrByBisection(all: readonly number[]): number {
  let n = all.length;
  while (n > 0 && all[n - 1] === 0) n--; // periods past the fund's life hold 0
  const flows = all.slice(0, n);
  const abs = flows.reduce((a, c) => a + Math.abs(c), 0);
  const npv = (x: number) => flows.reduce((acc, c, t) => acc + c * x ** (n - 1 - t), 0); // NPV × x^(n-1)
  if (Math.abs(npv(1)) <= 1e-12 * abs) return 0;
  const s0 = Math.sign(npv(1));
  const step = s0 < 0 ? 0.999 : 1.001;
  let near = 1;
  let far = step;
  while (Math.sign(npv(far)) === s0) {
    near = far;
    far *= step;
    expect(far, `no root on the side of the gain for ${flows.join(' ')}`).toBeGreaterThan(1e-9);
    expect(far).toBeLessThan(1e9);
  }
  for (let k = 0; k < 200; k++) {
    const mid = (near + far) / 2;
    if (Math.sign(npv(mid)) === s0) near = mid;
    else far = mid;
  }
  return (near + far) / 2 - 1;
}
