import type { SummaryUnits } from '../../../src/client/index.ts';

/** Numbers as the user's locale writes them; key figures keep at most two decimals on screen. */
export function formatValue(value: unknown, key = ''): string {
  // Years and period numbers are labels, not amounts: no thousands separator.
  if (typeof value === 'number' && /year|period/i.test(key) && Number.isInteger(value)) return String(value);
  if (typeof value === 'number') {
    return value.toLocaleString(undefined, { maximumFractionDigits: Math.abs(value) < 1 ? 4 : 2 });
  }
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `netPresentValue` → `Net present value`: summary keys are camelCase identifiers. */
export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .split(' ')
    .map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w))
    .join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const ACRONYMS = new Set(['nav', 'dpi', 'rvpi', 'tvpi', 'irr', 'pv', 'npv', 'ebitda', 'ebit', 'wacc', 'fcf']);

export function formatTime(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

export function duration(startIso: string | undefined, endIso: string | undefined): string {
  if (!startIso || !endIso) return '—';
  const ms = new Date(endIso).getTime() - new Date(startIso).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

type Point = { label: string | number; value: number };

/** Period columns worth a chart when a model reports a table instead of series; the J-curve is the cumulative one. */
const COLUMN_SERIES: Record<string, string> = { cumulativeNetCashFlow: 'jCurve', netCashFlow: 'netCashFlow' };

/**
 * Chart series of a job: `job.series` when the model provides it, else derived from the summary's
 * period tables: `[{ year, value }]` (finance's free cash flow) or `[{ period, …columns }]` (funds).
 */
export function chartSeries(job: {
  series?: Record<string, Point[]>;
  summary?: Record<string, unknown>;
}): [string, Point[]][] {
  const given = Object.entries(job.series ?? {}).filter(([, points]) => points.length > 0);
  if (given.length > 0) return given;
  const found: [string, Point[]][] = [];
  for (const [name, value] of Object.entries(job.summary ?? {})) {
    if (!Array.isArray(value) || value.length === 0) continue;
    const rows = value.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
    if (rows.length !== value.length) continue;
    const labels = rows.map((r) => r.label ?? r.year ?? r.period ?? r.quarter);
    if (!labels.every((l) => typeof l === 'string' || typeof l === 'number')) continue;
    const column = (key: string): Point[] | undefined =>
      rows.every((r) => typeof r[key] === 'number')
        ? rows.map((r, i) => ({ label: labels[i] as string | number, value: r[key] as number }))
        : undefined;
    const single = column('value');
    if (single) {
      found.push([name, single]);
      continue;
    }
    for (const [key, title] of Object.entries(COLUMN_SERIES)) {
      const points = column(key);
      if (points) found.push([title, points]);
    }
  }
  return found;
}

type Units = SummaryUnits | undefined;

const isScalar = (v: unknown) => v === null || (typeof v !== 'object' && typeof v !== 'function');
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function unitOf(units: Units, key: string): Units {
  if (!units || typeof units === 'string' || Array.isArray(units)) return undefined;
  const fields = units as Record<string, SummaryUnits>;
  return Object.hasOwn(fields, key) ? fields[key] : undefined;
}

export interface KeyFigure {
  key: string;
  label: string;
  value: unknown;
  unit: Units;
}

/**
 * Summary entries shown as key figures: scalars, and the scalars of a group of them (`loan` →
 * "Loan monthly payment"); arrays go to charts, deeper structures to their own views. `currency` is
 * left out: every money figure shows it.
 */
export function keyFigures(summary: Record<string, unknown> | undefined, units?: SummaryUnits): KeyFigure[] {
  const figures: KeyFigure[] = [];
  for (const [key, value] of Object.entries(summary ?? {})) {
    if (key === 'currency' && typeof value === 'string') continue;
    // An absent group (no loan) is no figure.
    if (value === null && isRecord(unitOf(units, key))) continue;
    if (isScalar(value)) figures.push({ key, label: humanize(key), value, unit: unitOf(units, key) });
    else if (isRecord(value) && Object.values(value).every(isScalar)) {
      for (const [inner, x] of Object.entries(value)) {
        const label = `${humanize(key)} ${humanize(inner).toLowerCase()}`;
        figures.push({ key: inner, label, value: x, unit: unitOf(unitOf(units, key), inner) });
      }
    }
  }
  return figures;
}

const TWO_DECIMALS = { minimumFractionDigits: 2, maximumFractionDigits: 2 } as const;

/**
 * Money as one format everywhere on a page: the ISO currency code and a fixed number of decimals, the
 * currency's minor unit (`USD 2,172,761.20`, never `2,172,761.2` beside `654,755.77`; `JPY 1,000`);
 * without a currency, two decimals alone.
 */
export function formatMoney(value: number, currency: string | undefined): string {
  if (currency && /^[A-Z]{3}$/.test(currency)) {
    // Intl's currency style fixes the decimals to the currency's minor unit (ISO 4217).
    return value.toLocaleString(undefined, { style: 'currency', currency, currencyDisplay: 'code' });
  }
  return value.toLocaleString(undefined, TWO_DECIMALS);
}

/**
 * A figure with its unit, one format per quantity: money as `formatMoney` (`EUR 1,234,567.89`), a rate as
 * a percentage with two decimals (`8.36 %`, not 0.0836), a multiple as `1.45×`; anything else as
 * `formatValue` shows it.
 */
export function formatFigure(value: unknown, unit: Units, currency: string | undefined, key = ''): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return formatValue(value, key);
  if (unit === 'money') return formatMoney(value, currency);
  if (unit === 'fraction') return `${(value * 100).toLocaleString(undefined, TWO_DECIMALS)} %`;
  if (unit === 'multiple') return `${value.toLocaleString(undefined, TWO_DECIMALS)}×`;
  return formatValue(value, key);
}

/** Per-tenant costs are often fractions of a cent; show two significant digits rather than 0.00. */
export function formatUsd(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return `$${value.toPrecision(2)}`;
  return `$${value.toFixed(2)}`;
}

/** One year of a Monte Carlo fan: percentiles over every path. */
export interface FanPoint {
  year: number;
  p5: number;
  p25: number;
  p50: number;
  p75: number;
  p95: number;
}

/** The Monte Carlo fan of a job's summary (`simulation.cumulativeNetCashFlowFan`), when it has one. */
export function simulationFan(summary: Record<string, unknown> | undefined): FanPoint[] {
  const simulation = summary?.['simulation'];
  const fan = isRecord(simulation) ? simulation['cumulativeNetCashFlowFan'] : undefined;
  if (!Array.isArray(fan)) return [];
  const keys = ['year', 'p5', 'p25', 'p50', 'p75', 'p95'] as const;
  return fan.filter((p): p is FanPoint => isRecord(p) && keys.every((k) => typeof p[k] === 'number'));
}

/** One Monte Carlo outcome's spread over the paths: its percentiles, P5 to P95. */
export interface Distribution {
  key: string;
  title: string;
  unit: 'fraction' | 'multiple';
  points: { label: string; value: number }[];
}

const PERCENTILES = ['p5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95'] as const;
const DISTRIBUTIONS = [
  { key: 'tvpi', title: 'TVPI across Monte Carlo paths', unit: 'multiple' },
  { key: 'irr', title: 'Net IRR across Monte Carlo paths', unit: 'fraction' },
] as const;

/** The percentiles of each Monte Carlo outcome in a job's summary (`simulation.tvpi`, `simulation.irr`). */
export function simulationDistributions(summary: Record<string, unknown> | undefined): Distribution[] {
  const simulation = summary?.['simulation'];
  if (!isRecord(simulation)) return [];
  return DISTRIBUTIONS.flatMap(({ key, title, unit }) => {
    const d = simulation[key];
    if (!isRecord(d)) return [];
    const points = PERCENTILES.filter((p) => typeof d[p] === 'number' && Number.isFinite(d[p])).map((p) => ({
      label: p === 'p50' ? 'Median' : p.toUpperCase(),
      value: d[p] as number,
    }));
    return points.length > 0 ? [{ key, title, unit, points }] : [];
  });
}

/** `1200 of 5000 paths (24 %)`: a running job's progress in words. */
export function describeProgress(progress: { done: number; total: number; unit: string }): string {
  const pct = progress.total > 0 ? Math.floor((progress.done / progress.total) * 100) : 0;
  return `${progress.done.toLocaleString()} of ${progress.total.toLocaleString()} ${progress.unit} (${pct} %)`;
}
