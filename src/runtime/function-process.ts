import { ForbiddenError } from '../core/errors.ts';
import type { StoreRef } from '../core/placement.ts';
import type { Tenant } from '../core/tenant.ts';
import { createModelHandler } from '../functions/model-handler.ts';
import type { ReleaseCatalog } from '../models/release-catalog.ts';
import { startLocalTracing } from '../observability/local-tracing.ts';
import { flushTracing } from '../observability/tracing.ts';
import type { JobStore } from '../ports/job-store.ts';
import type { MessageQueue, SendMessage } from '../ports/message-queue.ts';
import type { ObjectStore } from '../ports/object-store.ts';
import { type StoreProvider, tenantDataAt } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import {
  type ChildReport,
  type ChildRequest,
  type FunctionProcessOptions,
  SPARE_ARGUMENT,
} from './child-protocol.ts';
import { WARM_EVENT } from './code-cache.ts';
import { SEND_REQUEST_TIMEOUT_MS } from './process-requests.ts';

/** How long a send waits for its host's answer, ms: the host's own deadline and 5 s for the answer to travel. */
const SEND_ANSWER_TIMEOUT_MS = SEND_REQUEST_TIMEOUT_MS + 5_000;

export type { FunctionProcessOptions } from './child-protocol.ts';

/** The tenant's own store, as the entry point opened it. */
export interface FunctionProcessStore {
  jobs: JobStore;
  objects: ObjectStore;
  close(): void;
}

/** What the entry point (src/entry/function-process.ts) wires: the adapters the process runs on. */
export interface FunctionProcessWiring {
  /**
   * Opens the tenant's store in `options.storeDir`, never makes one: provisioning did, and a process started
   * without it (the tenant demoted or offboarded meanwhile) must end before it is ready rather than make
   * the store again, a folder no later step would remove. Throws (StoreNotFoundError) then.
   */
  openStore(options: FunctionProcessOptions): FunctionProcessStore;
  /** The releases of `dir` (`options.releasesDir`) with their current-release pointer. */
  openReleases(dir: string): ReleaseCatalog;
}

/**
 * Runs one dedicated (tenant, model) function process, the options its host forked it with in `argv[2]`
 * (process-runtime.ts). It opens that tenant's store and nothing else: the tenant record arrives with each
 * event and webhook sends go through the parent. Throws what `openStore` throws, before `ready`.
 *
 * Forked as a spare (`argv[2]` is SPARE_ARGUMENT, spare-processes.ts), it has loaded its code and opened
 * nothing when it says `{ type: 'spare' }`; the first `{ type: 'bind', options }` it is sent names its tenant,
 * and it goes on as one forked with those options. Anything else before that is ignored; a second `bind`
 * is too (a process serves one tenant for its whole life). It ends when its host's channel closes, at a
 * running job's next progress report once its host is gone, or on SIGTERM.
 */
export function runFunctionProcess(wiring: FunctionProcessWiring): void {
  if (process.argv[2] !== SPARE_ARGUMENT) {
    runFor(wiring, JSON.parse(process.argv[2] ?? '{}') as FunctionProcessOptions);
    return;
  }
  const end = () => process.exit(0);
  const onBind = (request: unknown) => {
    const options = bindOptionsOf(request);
    if (!options) return;
    process.off('message', onBind);
    process.off('disconnect', endOrphaned);
    process.off('SIGTERM', end);
    runFor(wiring, options);
  };
  process.on('message', onBind);
  process.on('disconnect', endOrphaned);
  process.on('SIGTERM', end);
  process.send?.({ type: 'spare' } satisfies ChildReport);
}

/**
 * Ends this process because its host's channel closed (the host crashed or was SIGKILLed: no host is left
 * to stop it), and with it what its model code started in its process group (it leads one: it was forked
 * `detached`), which would otherwise outlive it. The host stops the group itself on every other path
 * (process-stop.ts).
 */
function endOrphaned(): void {
  process.once('exit', () => {
    try {
      // The group's id is this process's pid while it leads it; it still does at exit.
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      // Not a group leader (started by hand, without `detached`): only this process ends.
    }
  });
  process.exit(0);
}

/** The options of a `bind` request, when `request` is one with a tenant and a store folder named. */
function bindOptionsOf(request: unknown): FunctionProcessOptions | undefined {
  const r = request as { type?: unknown; options?: Partial<FunctionProcessOptions> } | null;
  if (r?.type !== 'bind' || typeof r.options !== 'object' || r.options === null) return undefined;
  const { tenantId, storeDir } = r.options;
  return typeof tenantId === 'string' && typeof storeDir === 'string'
    ? (r.options as FunctionProcessOptions)
    : undefined;
}

function runFor(wiring: FunctionProcessWiring, options: FunctionProcessOptions): void {
  // A running model holds the event loop until its job ends, so 'disconnect' (host gone) waits for that:
  // an orphan ran its job to the end, with no host to enforce its time limit. Each report (progress goes
  // out as the model runs) checks the parent instead: once re-parented, the host is gone and it ends.
  const hostPid = process.ppid;
  const post = (report: ChildReport) => {
    if (process.ppid !== hostPid) endOrphaned();
    process.send?.(report);
  };
  const own: StoreRef = { kind: 'dedicated', tenantId: options.tenantId };
  // Before tracing, which writes into the same folder.
  const store = wiring.openStore(options);
  startLocalTracing(`silopool-function-${options.tenantId}`, options.storeDir);

  const only = (ref: StoreRef) => {
    if (ref.kind !== 'dedicated' || ref.tenantId !== options.tenantId) {
      throw new ForbiddenError(`The function of tenant ${options.tenantId} cannot reach another store.`);
    }
  };
  const stores: StoreProvider = {
    jobs(ref) {
      only(ref);
      return store.jobs;
    },
    objects(ref) {
      only(ref);
      return store.objects;
    },
    provision: async (ref) => only(ref),
    destroy: async (ref) => only(ref),
    close: async () => {
      store.close();
    },
  };

  let current: Tenant | undefined;
  const directory: TenantDirectory = {
    get: async (id) => (id === options.tenantId ? current : undefined),
    create: async () => refuse(),
    update: async () => refuse(),
    touchApiKey: async () => refuse(),
    list: async () => ({ items: current ? [current] : [] }),
    delete: async () => refuse(),
  };
  function refuse(): never {
    throw new ForbiddenError('A function process cannot change tenants.');
  }

  let nextSend = 1;
  const sends = new Map<number, { resolve(): void; reject(e: Error): void }>();
  const queue = {
    // The host answers every send by its deadline (SEND_REQUEST_TIMEOUT_MS); this one, a little later, is for
    // a host that never does (an answer lost): the job's announcement, and the job, waited until its timeout.
    send: (name: string, message: SendMessage) =>
      new Promise<{ messageId: string }>((resolve, reject) => {
        const id = nextSend++;
        const timer = setTimeout(() => {
          sends.delete(id);
          reject(
            new Error(
              `The host did not answer the send to ${name} within ${SEND_ANSWER_TIMEOUT_MS / 1000} s; the job is retried with its message.`,
            ),
          );
        }, SEND_ANSWER_TIMEOUT_MS);
        sends.set(id, {
          resolve: () => {
            clearTimeout(timer);
            resolve({ messageId: `via-parent-${id}` });
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        post({ type: 'send', id, queue: name, message });
      }),
  } as unknown as MessageQueue;

  const handler = createModelHandler({
    directory,
    queue,
    dataFor: async () => tenantDataAt(stores, own, options.tenantId),
    ...(options.releasesDir ? { releases: wiring.openReleases(options.releasesDir) } : {}),
    notify: (job) => post({ type: 'job', job }),
    ...(options.maxReceiveCount !== undefined ? { maxReceiveCount: options.maxReceiveCount } : {}),
    // The setting it was started with, fixed for its life (a change starts a new process).
    memoryMb: () => options.memoryMb,
  });

  let warm = false;
  process.on('message', (request: ChildRequest) => {
    if (request.type === 'sent') {
      const call = sends.get(request.id);
      sends.delete(request.id);
      if (request.error) call?.reject(new Error(request.error));
      else call?.resolve();
      return;
    }
    // Bound once, for life: a second `bind` (its host never sends one) changes nothing.
    if (request.type !== 'invoke') return;
    // The process runs the release it was started for, whatever the record says meanwhile (the host
    // replaces the process when the tenant's release changes, after its events in flight finish).
    current =
      request.tenant && options.release ? { ...request.tenant, release: options.release } : request.tenant;
    handler(request.event).then(
      (response) => {
        post({ type: 'result', id: request.id, response });
        // Started from the prebuilt bundle: its code cache is written now, with what this job compiled.
        if (!warm) {
          warm = true;
          (process as NodeJS.EventEmitter).emit(WARM_EVENT);
        }
      },
      (error: unknown) => post({ type: 'error', id: request.id, message: String(error) }),
    );
  });
  // An orphaned function (its host died) stops instead of holding the tenant's store.
  process.on('disconnect', () => void flushTracing().then(endOrphaned));
  process.on('SIGTERM', () => {
    void flushTracing().then(() => {
      store.close();
      process.exit(0);
    });
  });
  post({ type: 'ready' });
}
