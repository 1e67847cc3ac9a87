import { WEIGHT_MAX, WEIGHT_MIN } from './tenant.ts';
/**
 * Start-time fair queueing by group (tenant), weighted by the group's weight and each job's cost.
 *
 * Every group carries a virtual time: the virtual finish time of the last job it started. The queue
 * carries its own virtual time: the start tag of the last job it started. A pick takes the group with
 * the smallest start tag `max(group, queue)` and charges it `cost / weight`. Because the start tag is
 * clamped to the queue's virtual time, a group returning from idle gets no banked credit: it joins at
 * "now" and interleaves with the busy groups. The pick is work-conserving: it only skips groups that
 * have nothing to run or are excluded.
 *
 * The adapters persist the same numbers (the SQLite claim keeps them in `queue_groups`), so this module
 * is the single definition of the policy; `startTags` is what they call.
 */

export interface StartTags {
  /** Virtual start time of the job being started; the queue's virtual time becomes this. */
  start: number;
  /** Virtual finish time; the group's virtual time becomes this. */
  finish: number;
}

/** The tags of the next job of a group with virtual time `groupTime` on a queue at virtual time `queueTime`. */
export function startTags(groupTime: number, queueTime: number, cost: number, weight: number): StartTags {
  // A clock that is not finite would compare equal to every other and decide by group name for ever.
  const start = Math.max(finiteOrZero(groupTime), finiteOrZero(queueTime));
  return { start, finish: start + normaliseCost(cost) / normaliseWeight(weight) };
}

/** Largest cost one job is charged: a model's estimate cannot push a tenant out of the schedule. */
export const MAX_JOB_COST = 1e6;

/** Costs and weights come from tenant config and model code; a bad one must not stall or starve a queue. */
export function normaliseCost(cost: number | undefined): number {
  return cost !== undefined && Number.isFinite(cost) && cost > 0 ? Math.min(cost, MAX_JOB_COST) : 1;
}

/** A weight within [WEIGHT_MIN, WEIGHT_MAX] (src/core/tenant.ts); 1 when it is not a positive number. */
export function normaliseWeight(weight: number | undefined): number {
  if (weight === undefined || !Number.isFinite(weight) || weight <= 0) return 1;
  return Math.min(WEIGHT_MAX, Math.max(WEIGHT_MIN, weight));
}

function finiteOrZero(time: number): number {
  return Number.isFinite(time) ? time : 0;
}

export interface QueuedItem {
  /** Send order across the whole scheduler. */
  seq: number;
  group: string;
  cost: number;
  priority: number;
}

interface GroupState {
  time: number;
  items: QueuedItem[];
}

/** The pure scheduler: no I/O, no clock. Used by tests and by in-memory callers; SQLite persists the same tags. */
export class FairScheduler {
  private readonly groups = new Map<string, GroupState>();
  private readonly weights = new Map<string, number>();
  private queueTime = 0;
  private nextSeq = 0;

  constructor(weights?: Record<string, number>) {
    for (const [group, weight] of Object.entries(weights ?? {})) this.setWeight(group, weight);
  }

  setWeight(group: string, weight: number): void {
    this.weights.set(group, normaliseWeight(weight));
  }

  weightOf(group: string): number {
    return this.weights.get(group) ?? 1;
  }

  /** Queues one item; within a group, items start by (priority, send order). */
  enqueue(group: string, cost = 1, priority = 0): QueuedItem {
    const item: QueuedItem = { seq: this.nextSeq++, group, cost: normaliseCost(cost), priority };
    const state = this.groups.get(group) ?? { time: this.queueTime, items: [] };
    // Lifting on every enqueue changes no start tag (those are clamped anyway), but it makes ties break
    // the same way here and in SQL, where groups are ordered by their stored time.
    state.time = Math.max(state.time, this.queueTime);
    this.groups.set(group, state);
    insertSorted(state.items, item);
    return item;
  }

  /** Starts the next item: from the group with the smallest start tag, ignoring `excluded` groups. */
  pick(excluded?: ReadonlySet<string>): QueuedItem | undefined {
    // The smallest start tag max(time, queueTime) is the smallest time: max with a constant keeps the
    // order. Ties go to the group name, as in the SQL index (queue, vtime, grp).
    let best: { group: string; state: GroupState } | undefined;
    let backlogged = false;
    for (const [group, state] of this.groups) {
      if (state.items.length > 0) backlogged = true;
      if (state.items.length === 0) {
        // Forgetting an idle group is safe once the queue's virtual time has passed its own: it would
        // start at the queue's virtual time anyway. Earlier, forgetting it would hand it credit.
        if (state.time <= this.queueTime) this.groups.delete(group);
        continue;
      }
      if (excluded?.has(group)) continue;
      if (!best || state.time < best.state.time || (state.time === best.state.time && group < best.group)) {
        best = { group, state };
      }
    }
    if (!best) {
      if (!backlogged) this.endBusyPeriod();
      return undefined;
    }
    const item = best.state.items.shift()!;
    const tags = startTags(best.state.time, this.queueTime, item.cost, this.weightOf(best.group));
    this.queueTime = tags.start;
    best.state.time = tags.finish;
    return item;
  }

  /**
   * Nothing queued anywhere: as in SFQ, the virtual time jumps to the largest finish tag, so every idle
   * group is behind it and forgotten (no group keeps a lead or a debt into the next busy period).
   */
  private endBusyPeriod(): void {
    for (const state of this.groups.values()) this.queueTime = Math.max(this.queueTime, state.time);
    this.groups.clear();
  }

  /** Items queued, per group. */
  backlog(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [group, state] of this.groups) if (state.items.length > 0) out.set(group, state.items.length);
    return out;
  }

  get virtualTime(): number {
    return this.queueTime;
  }
}

function insertSorted(items: QueuedItem[], item: QueuedItem): void {
  let i = items.length;
  while (i > 0 && items[i - 1]!.priority > item.priority) i--;
  items.splice(i, 0, item);
}
