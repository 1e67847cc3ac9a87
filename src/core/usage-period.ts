import { monthRange, utcMonth } from './usage.ts';

// The one rule for "over which time" a usage, cost or revenue figure is summed. Every figure of one answer
// uses one period; a default is the calendar month so far, because plans, allowances and statements are
// calendar months (docs/billing.md "Periods").

const DAY_MS = 86_400_000;

/** A span usage is counted over, `from` inclusive to `to` exclusive, as epoch ms (UTC). */
export interface UsagePeriod {
  fromMs: number;
  toMs: number;
}

/** `period` as the ISO instants an answer states (`from`, `to`). */
export function periodInstants(period: UsagePeriod): { from: string; to: string } {
  return { from: new Date(period.fromMs).toISOString(), to: new Date(period.toMs).toISOString() };
}

/** Epoch ms of 00:00 UTC on the 1st of `month` (YYYY-MM) and of the 1st of the month after. */
export function monthBounds(month: string): { startMs: number; endMs: number } {
  const { from, to } = monthRange(month);
  return { startMs: Date.parse(`${from}T00:00:00Z`), endMs: Date.parse(`${to}T00:00:00Z`) + DAY_MS };
}

/** `month` (YYYY-MM, UTC) up to `now`: a past month whole, the current one so far, a future one empty. */
export function monthPeriod(month: string, now: number): UsagePeriod {
  const { startMs, endMs } = monthBounds(month);
  return { fromMs: startMs, toMs: Math.max(startMs, Math.min(now, endMs)) };
}

/** The default period: the current UTC calendar month so far (its 1st, 00:00 UTC, to `now`). */
export function monthSoFar(now: number): UsagePeriod {
  return monthPeriod(utcMonth(now), now);
}

/** The last `days` days up to `now`. */
export function lastDays(days: number, now: number): UsagePeriod {
  return { fromMs: now - days * DAY_MS, toMs: now };
}

/**
 * The basis on which the placement advisor turns this month's figures into a month's: the calendar month
 * of `now` so far, taken as at least one day in (a few hours scaled to a month is mostly noise, and never a
 * divide by zero). Usage signals and money both scale by `paceFraction` of it.
 */
export interface PaceBasis {
  month: string;
  period: UsagePeriod;
}

/** The advisor's basis at `now`: this calendar month, to `now` but at least its first day. */
export function paceBasis(now: number): PaceBasis {
  const month = utcMonth(now);
  const { startMs } = monthBounds(month);
  return { month, period: { fromMs: startMs, toMs: Math.max(now, startMs + DAY_MS) } };
}

/**
 * The part of the basis month (0..1] a tenant's usage so far covers: from the later of the month's start
 * and the tenant's creation to the basis's end, at least a day. Its usage ÷ this is a month at its pace.
 */
export function paceFraction(basis: PaceBasis, createdAt?: string): number {
  const { startMs, endMs } = monthBounds(basis.month);
  const created = createdAt === undefined ? Number.NaN : Date.parse(createdAt);
  const from = Number.isFinite(created) ? Math.max(startMs, created) : startMs;
  const covered = Math.max(DAY_MS, Math.min(basis.period.toMs, endMs) - from);
  return Math.min(1, covered / (endMs - startMs));
}
