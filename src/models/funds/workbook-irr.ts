import { IRR_PROFILE, investorIrr } from '../irr-roots.ts';
import type { Cell, Row } from '../xlsx/cells.ts';

/** One flow range whose IRR the workbook solves live. */
export interface IrrFlow {
  label: string;
  /** Absolute range of the flows, one per period row (t = 1, 2, …), zeros past the run. */
  range: string;
  /** The model's flows for the run, padded with zeros to the range's length. */
  values: readonly number[];
}

/**
 * The live IRR solver: the NPV sign of each flow range on the model's rate grid (`IRR_PROFILE`), the bracket
 * of the root the model reports (the first sign change walking from 0 towards the flows' total gain, as
 * `investorIrr`), and Excel's IRR started inside that bracket. A fixed chain of guesses cannot do this: Newton
 * from a guess right of a root near −100 % overshoots below −1, from the left it creeps (each step grows 1 + r
 * by about 1/n over n periods), so with 20 iterations IRR converged from none of 0, −50 % or the job's root
 * when an edit took the IRR to about −60 % a year or below ("n/a" where the flows have an IRR); guesses near
 * −1 stop on IRR's absolute tolerance (1e-7) at rates that are no root. The bracket is 5 % of 1 + r wide, so
 * IRR from one of its ends or its middle lands inside it, and a result outside it is not taken.
 *
 * Rows start at sheet row `firstRow` (0-based); `periods` is the cell of the run's period count and `t` the
 * range of period numbers beside the flows. Returns the rows and, per flow, the cell (same sheet) holding the
 * per-period IRR or "n/a".
 */
export function irrSolverRows(
  firstRow: number,
  flows: readonly IrrFlow[],
  t: string,
  periods: string,
  N: number,
): { rows: Row[]; rootCells: string[] } {
  const K = IRR_PROFILE.length;
  const zeroAt = IRR_PROFILE.indexOf(0);
  const col = (i: number) => String.fromCharCode(66 + i); // B, C: one per flow (head values, grid signs)
  const head = firstRow + 2; // 0-based row of the first head line
  const gridTop = head + 7; // 0-based row of the first grid rate
  const cell = (c: string, row0: number) => `${c}${row0 + 1}`;
  const absRange = (c: string, from: number, to: number) => `$${c}$${from + 1}:$${c}$${to + 1}`;
  const rates = absRange('A', gridTop, gridTop + K - 1);
  const markCol = (i: number) => String.fromCharCode(66 + flows.length + i); // then markers

  const signs = flows.map((f) =>
    IRR_PROFILE.map((g) => (g === 0 ? zeroSignOf(f.values) : Math.sign(scaledNpv(f.values, g, N)))),
  );
  const brackets = flows.map((_, i) => bracketOf(signs[i]!, zeroAt));

  const rows: Row[] = [
    [
      {
        v: 'IRR solver: each flow range’s NPV sign at rates per period (the model’s grid); the IRR reported is the root in the first sign change from 0 towards the flows’ total gain, found by IRR started inside it.',
        s: 'note',
      },
    ],
    [{ v: 'Per period', s: 'colHeader' }, ...flows.map((f): Cell => ({ v: f.label, s: 'colHeader' }))],
  ];
  const headLine = (label: string, cells: Cell[]) => rows.push([{ v: label, s: 'label' }, ...cells]);
  const s0 = (i: number) => cell(col(i), head);
  const b = (i: number) => cell(col(i), head + 1);
  const lo = (i: number) => cell(col(i), head + 2);
  const hi = (i: number) => cell(col(i), head + 3);
  headLine(
    'NPV sign at 0 (the sign of the total gain)',
    flows.map((_, i) => ({
      f: `$${col(i)}$${gridTop + zeroAt + 1}`,
      v: signs[i]![zeroAt]!,
      s: 'integer',
    })),
  );
  headLine(
    'Bracket: grid row of its lower rate',
    flows.map((_, i): Cell => {
      const marks = (from: number, to: number) => absRange(markCol(i), gridTop + from, gridTop + to);
      const below = marks(0, zeroAt - 1);
      const above = marks(zeroAt + 1, K - 1);
      return {
        f: `IF(${s0(i)}<0,IF(COUNT(${below})=0,"none",MAX(${below})),IF(${s0(i)}>0,IF(COUNT(${above})=0,"none",MIN(${above})-1),"none"))`,
        v: brackets[i] ?? 'none',
        s: 'integer',
      };
    }),
  );
  // The bracket's ends: grid rate b (Lower) and b + 1 (Upper), 1-based in the rate column.
  const bracketEnd = (label: string, step: 0 | 1) =>
    headLine(
      label,
      flows.map((_, i): Cell => {
        const k = brackets[i];
        return {
          f: `IF(ISNUMBER(${b(i)}),INDEX(${rates},${b(i)}${step ? '+1' : ''}),"")`,
          v: k ? IRR_PROFILE[k - 1 + step]! : '',
          s: 'percent',
        };
      }),
    );
  bracketEnd('Lower rate', 0);
  bracketEnd('Upper rate', 1);
  const roots = flows.map((f) => investorIrr(f.values));
  headLine(
    'IRR per period ("n/a" where the flows have none)',
    flows.map(
      (f, i): Cell => ({
        f: rootFormula(f.range, s0(i), b(i), lo(i), hi(i)),
        v: finite(roots[i]!),
        s: 'percent',
      }),
    ),
  );
  rows.push([]);
  rows.push([
    { v: 'Rate per period', s: 'colHeader' },
    ...flows.map((f): Cell => ({ v: `${f.label}: NPV sign`, s: 'colHeader' })),
    ...flows.map((f): Cell => ({ v: `${f.label}: row if the sign differs from at 0`, s: 'colHeader' })),
  ]);
  const R = flows[0]?.values.length ?? 0;
  for (let k = 0; k < K; k++) {
    const g = IRR_PROFILE[k]!;
    const rate = `$A${gridTop + k + 1}`;
    rows.push([
      { v: g, s: 'percent' },
      ...flows.map(
        (f, i): Cell => ({
          f:
            k === zeroAt
              ? zeroSign(f.range)
              : `SIGN(SUMPRODUCT(${f.range},${weights(g, rate, t, periods, R)}))`,
          v: signs[i]![k]!,
          s: 'integer',
        }),
      ),
      ...flows.map((_, i): Cell => {
        const sign = `${col(i)}${gridTop + k + 1}`;
        const differs = k !== zeroAt && signs[i]![k] !== signs[i]![zeroAt];
        return {
          f: k === zeroAt ? '""' : `IF(${sign}<>${s0(i)},${k + 1},"")`,
          v: differs ? k + 1 : '',
          s: 'integer',
        };
      }),
    ]);
  }
  return { rows, rootCells: flows.map((_, i) => cell(col(i), head + 4)) };
}

/**
 * IRR from the bracket's lower rate, then its upper, then its middle, the first that lands inside it; 0 where the
 * total gain is 0; "n/a" where the flows do not change sign or the gain's side has no sign change.
 */
function rootFormula(range: string, s0: string, b: string, lo: string, hi: string): string {
  const attempt = (guess: string, next: string) => {
    const irr = `IRR(${range},${guess})`;
    return `IFERROR(IF(AND(${irr}>=${lo},${irr}<=${hi}),${irr},${next}),${next})`;
  };
  const solve = attempt(lo, attempt(hi, attempt(`(${lo}+${hi})/2`, '"n/a"')));
  return `IF(OR(COUNTIF(${range},">0")=0,COUNTIF(${range},"<0")=0),"n/a",IF(${s0}=0,0,IF(ISNUMBER(${b}),${solve},"n/a")))`;
}

/** Smallest power the sheet takes: below it LibreOffice's `^` gives #NUM! (underflow), well above 2.2e-308. */
const TINY = 1e-300;

/** The largest exponent e with (1 + g)^e ≥ TINY for a base away from 1 (either side). */
const capFor = (g: number) => Math.floor(Math.log(TINY) / -Math.abs(Math.log1p(g)));

/**
 * The weights of the NPV sign at rate `g` as an array expression over the period numbers `t`: (1 + g)^|N − t|
 * below 0 (the NPV scaled by (1 + g)^N, so no power overflows near −100 %; rows past the run hold flows of 0,
 * which ABS keeps from overflowing too), (1 + g)^−t from 0 up. An exponent that could take the power below
 * TINY is capped at `capFor(g)` (`e + (cap − e)·(e > cap)`, element by element without IF, which SUMPRODUCT
 * would not lift over arrays in Excel without array entry): such terms weigh < 1e-300 of the nearest flows'.
 */
function weights(g: number, rate: string, t: string, periods: string, R: number): string {
  const e = g < 0 ? `ABS(${periods}-${t})` : `${t}`;
  const cap = capFor(g);
  const exponent = cap >= R ? e : `(${e}+(${cap}-${e})*(${e}>${cap}))`;
  return g < 0 ? `(1+${rate})^${exponent}` : `(1+${rate})^(-${exponent})`;
}

/**
 * The NPV sign at 0, the sign of the flows' sum, rounded at 1e-12 of their absolute sum: flows that sum to 0
 * (growth 0 and no fees) leave floating-point residue whose sign differs between engines.
 */
const zeroSign = (range: string) => {
  const abs = `SUMPRODUCT(ABS(${range}))`;
  return `IF(${abs}=0,0,SIGN(ROUND(SUM(${range})/${abs},12)))`;
};

function zeroSignOf(values: readonly number[]): number {
  const abs = values.reduce((a, v) => a + Math.abs(v), 0);
  return abs === 0 ? 0 : Math.sign(roundTo(values.reduce((a, v) => a + v, 0) / abs, 12));
}

/** Excel's ROUND (half away from zero) at `digits` decimals, near enough for a sign. */
const roundTo = (x: number, digits: number) =>
  (Math.sign(x) * Math.round(Math.abs(x) * 10 ** digits)) / 10 ** digits;

/** NPV at rate `g` scaled by a positive factor, with the sheet's capped exponents. */
function scaledNpv(values: readonly number[], g: number, N: number): number {
  const cap = capFor(g);
  let acc = 0;
  for (let t = 1; t <= values.length; t++) {
    const e = g < 0 ? Math.abs(N - t) : t;
    acc += values[t - 1]! * (1 + g) ** ((g < 0 ? 1 : -1) * Math.min(e, cap));
  }
  return acc;
}

/** The 1-based grid row of the bracket's lower rate, as the sheet finds it; null where there is none. */
function bracketOf(signs: readonly number[], zeroAt: number): number | null {
  const s0 = signs[zeroAt]!;
  if (s0 === 0) return null;
  if (s0 < 0) {
    for (let k = zeroAt - 1; k >= 0; k--) if (signs[k] !== s0) return k + 1;
    return null;
  }
  for (let k = zeroAt + 1; k < signs.length; k++) if (signs[k] !== s0) return k;
  return null;
}

const finite = (x: number): number | string => (Number.isFinite(x) ? x : 'n/a');
