import { EventEmitter } from 'node:events';
import { BroadcastChannel, getEnvironmentData, setEnvironmentData } from 'node:worker_threads';

/** Counters of long polls per (file, queue), hashed into this many slots; a collision only wakes in vain. */
const SLOTS = 1024;
const POLLERS_KEY = 'silopool:queue-pollers';

/**
 * Long polls now running, per slot, in every thread of this process tree: made by the first thread that
 * loads this module and handed to the threads it starts afterwards (`setEnvironmentData` gives each new
 * `Worker` the same `SharedArrayBuffer`). A thread started before it (none in Silopool: the server loads
 * the queue before it starts a function thread) makes its own, and its polls then fall back to polling.
 */
const pollers: Int32Array = (() => {
  let shared = getEnvironmentData(POLLERS_KEY);
  if (!(shared instanceof SharedArrayBuffer)) {
    shared = new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT);
    setEnvironmentData(POLLERS_KEY, shared);
  }
  return new Int32Array(shared as SharedArrayBuffer);
})();
/** Of them, this thread's own: its polls are woken without the channel. */
const ownPollers = new Int32Array(SLOTS);

/** FNV-1a (32 bit) of the file and queue names: the slot of their counter. */
function slotOf(file: string, queue: string): number {
  let hash = 0x811c9dc5;
  const key = `${file}\u0000${queue}`;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % SLOTS;
}

/**
 * Wakes a long poll (`receive` with `waitTimeSec`) as soon as a message may have become visible, across the
 * threads of one process (a send on the API's thread, a long poll on a function thread). Other processes
 * find new messages by polling.
 */
export interface QueueWake {
  /** A message of `queue` may be visible now: wakes the polls of it in this thread, and in others if any. */
  wake(queue: string): void;
  /**
   * Counts a long poll of `queue` from now until the returned function is called (it may be called again:
   * only the first call counts). Call it before the poll's first claim, so a send that commits after that
   * claim also sees the poll counted (both counter operations are sequentially consistent `Atomics`).
   */
  polling(queue: string): () => void;
  /** Resolves after `ms`, when `queue` is woken in this process, or when `signal` aborts. */
  wait(queue: string, ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * A `BroadcastChannel` per file carries a wake to the other threads, but only while one of them polls that
 * queue: a send with nobody waiting (every function thread busy, the usual case under load) posts nothing.
 * Posting every wake was 4 % of the API thread's time in the submit benchmark and woke each function
 * thread's event loop once per submit (session 15, `--cpu-prof`).
 *
 * Why no wake is lost: a poll is counted before its first claim. A send commits its message, then reads the
 * count. Read as zero, the poll was counted after that read, so its claim, later still, sees the message;
 * read as more than this thread's own polls, the wake is posted, and the poll, which registers its listener
 * in the same synchronous step as its empty claim, receives it. A thread that ends mid-poll (terminated)
 * leaves its count behind: wakes of that slot are then posted whether needed or not, as before.
 */
export function queueWakeFor(file: string): QueueWake {
  let wake = wakes.get(file);
  if (!wake) {
    wake = createQueueWake(file);
    wakes.set(file, wake);
  }
  return wake;
}

const wakes = new Map<string, QueueWake>();

/**
 * The local event of a queue: prefixed, since a queue may be named like an event `EventEmitter` treats
 * apart ("error", with no listener, throws from `emit`: after a send committed, or in the channel's handler).
 */
const eventOf = (queue: string): string => `queue:${queue}`;

function createQueueWake(file: string): QueueWake {
  const local = new EventEmitter();
  local.setMaxListeners(0);
  const channel = new BroadcastChannel(`silopool-queue:${file}`);
  channel.unref();
  channel.onmessage = (event) => {
    local.emit(eventOf((event as { data: string }).data));
  };
  const slots = new Map<string, number>();
  const slotOfQueue = (queue: string): number => {
    let slot = slots.get(queue);
    if (slot === undefined) {
      slot = slotOf(file, queue);
      slots.set(queue, slot);
    }
    return slot;
  };
  return {
    wake(queue) {
      const slot = slotOfQueue(queue);
      if (Atomics.load(pollers, slot) > ownPollers[slot]!) channel.postMessage(queue);
      local.emit(eventOf(queue));
    },
    polling(queue) {
      const slot = slotOfQueue(queue);
      Atomics.add(pollers, slot, 1);
      ownPollers[slot]!++;
      let counted = true;
      return () => {
        if (!counted) return;
        counted = false;
        Atomics.sub(pollers, slot, 1);
        ownPollers[slot]!--;
      };
    },
    wait: (queue, ms, signal) =>
      new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          local.off(event, done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const event = eventOf(queue);
        const timer = setTimeout(done, Math.max(1, ms));
        local.on(event, done);
        signal?.addEventListener('abort', done, { once: true });
      }),
  };
}
