/** Rounds every finite number in a plain JSON value to `decimals` places (the tenant's `rules.rounding`). */
export function roundFigures<T>(value: T, decimals: number | undefined): T {
  if (decimals === undefined) return value;
  const f = 10 ** decimals;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isFinite(v) ? Math.round(v * f) / f : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}
