/** Numbers as the user's locale writes them; key figures keep at most two decimals on screen. */
export function formatValue(value: unknown): string {
  if (typeof value === 'number') return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** `netPresentValue` → `Net present value`: summary keys are camelCase identifiers. */
export function humanize(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase();
}

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

/**
 * Chart series of a job: `job.series` when the model provides it, else the summary's arrays of
 * `{ year | period | label, value }` (the finance model reports free cash flow by year that way).
 */
export function chartSeries(job: {
  series?: Record<string, Point[]>;
  summary?: Record<string, unknown>;
}): [string, Point[]][] {
  if (job.series) return Object.entries(job.series).filter(([, points]) => points.length > 0);
  const found: [string, Point[]][] = [];
  for (const [name, value] of Object.entries(job.summary ?? {})) {
    if (!Array.isArray(value) || value.length === 0) continue;
    const points = value.map((item: unknown) => {
      if (typeof item !== 'object' || item === null) return undefined;
      const row = item as Record<string, unknown>;
      const label = row.label ?? row.year ?? row.period ?? row.quarter;
      return typeof row.value === 'number' && (typeof label === 'string' || typeof label === 'number')
        ? { label, value: row.value }
        : undefined;
    });
    if (points.every((p) => p !== undefined)) found.push([name, points as Point[]]);
  }
  return found;
}

/** Summary entries shown as key figures: scalars only, arrays go to charts. */
export function keyFigures(summary: Record<string, unknown> | undefined): [string, unknown][] {
  return Object.entries(summary ?? {}).filter(
    ([, v]) => !Array.isArray(v) && (v === null || typeof v !== 'object'),
  );
}

/** Per-tenant costs are often fractions of a cent; show two significant digits rather than 0.00. */
export function formatUsd(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return `$${value.toPrecision(2)}`;
  return `$${value.toFixed(2)}`;
}
