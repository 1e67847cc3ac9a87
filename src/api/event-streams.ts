import { RateLimitedError } from '../core/errors.ts';
import type { JobRecord } from '../core/job.ts';
import type { JobEvents, JobNotice } from '../runtime/job-events.ts';

export interface EventStreamSettings {
  /** Streams one tenant may hold open at once on this process (default 20); the next one is a `429`. */
  maxPerTenant?: number;
  /** Longest life of one stream in ms (default 5 minutes); it then ends with a `reconnect` event. */
  maxLifeMs?: number;
  /**
   * Re-read every watched job this often (ms), in one shared poll per process. `0` or absent: no poll,
   * for a process whose own function host makes every status change and publishes it to `JobEvents`.
   */
  pollMs?: number;
}

export const DEFAULT_MAX_STREAMS_PER_TENANT = 20;
export const DEFAULT_MAX_STREAM_LIFE_MS = 5 * 60_000;
/** A slot frees when a job ends or a stream reaches its life; a few seconds is a fair first wait. */
const RETRY_AFTER_SEC = 5;

export interface EventStreams {
  readonly maxLifeMs: number;
  /**
   * Takes one of `owner`'s stream slots and registers `end`, called if the server closes first. The owner is
   * a tenant incarnation (the id and `incarnationOf`, see job-events-stream.ts), not the id alone.
   * Returns the release function (idempotent). Throws RateLimitedError when the tenant has no slot left.
   */
  open(owner: string, end: () => void): () => void;
  /** Calls `listener` with the job on every change this process hears of; returns the unsubscribe function. */
  watch(
    tenantId: string,
    jobId: string,
    read: () => Promise<JobRecord | undefined>,
    listener: (job: JobNotice) => void,
  ): () => void;
  /** Ends every open stream (the server is closing) and stops the poll. */
  close(): void;
}

interface Watched {
  read: () => Promise<JobRecord | undefined>;
  listeners: Set<(job: JobNotice) => void>;
  reading: boolean;
}

/**
 * Bookkeeping of the SSE streams of one process: slots per tenant, and where changes come from. Changes
 * are pushed by `JobEvents`; where another process may also change jobs (Lambda, the AWS backend), one
 * poll shared by all streams re-reads each watched job once per tick, however many streams watch it.
 */
export function createEventStreams(events: JobEvents, settings: EventStreamSettings = {}): EventStreams {
  const maxPerTenant = settings.maxPerTenant ?? DEFAULT_MAX_STREAMS_PER_TENANT;
  const maxLifeMs = settings.maxLifeMs ?? DEFAULT_MAX_STREAM_LIFE_MS;
  const pollMs = settings.pollMs ?? 0;
  const open = new Map<string, Set<() => void>>();
  const watched = new Map<string, Watched>();
  let poll: NodeJS.Timeout | undefined;

  const tick = () => {
    for (const entry of watched.values()) {
      if (entry.reading) continue;
      entry.reading = true;
      entry.read().then(
        (job) => {
          entry.reading = false;
          if (job) for (const listener of entry.listeners) listener(job);
        },
        () => {
          // A failed re-read is retried on the next tick; pushed events keep flowing meanwhile.
          entry.reading = false;
        },
      );
    }
  };

  return {
    maxLifeMs,
    open(tenantId, end) {
      const streams = open.get(tenantId) ?? new Set();
      if (streams.size >= maxPerTenant) {
        throw new RateLimitedError(
          `This tenant has ${streams.size} event streams open, its limit is ${maxPerTenant}; close one or retry later.`,
          RETRY_AFTER_SEC,
          { limit: 'concurrent_event_streams', max: maxPerTenant },
        );
      }
      streams.add(end);
      open.set(tenantId, streams);
      return () => {
        streams.delete(end);
        if (streams.size === 0 && open.get(tenantId) === streams) open.delete(tenantId);
      };
    },
    watch(tenantId, jobId, read, listener) {
      const unsubscribe = events.subscribe(tenantId, jobId, listener);
      if (pollMs <= 0) return unsubscribe;
      // The key carries the tenant, so two tenants' jobs of one id are never read through one store.
      const key = `${tenantId}#${jobId}`;
      const entry = watched.get(key) ?? { read, listeners: new Set(), reading: false };
      entry.listeners.add(listener);
      watched.set(key, entry);
      if (!poll) {
        poll = setInterval(tick, pollMs);
        poll.unref();
      }
      return () => {
        unsubscribe();
        entry.listeners.delete(listener);
        if (entry.listeners.size === 0 && watched.get(key) === entry) watched.delete(key);
        if (watched.size === 0 && poll) {
          clearInterval(poll);
          poll = undefined;
        }
      };
    },
    close() {
      for (const streams of [...open.values()]) for (const end of [...streams]) end();
      open.clear();
      if (poll) clearInterval(poll);
      poll = undefined;
    },
  };
}
