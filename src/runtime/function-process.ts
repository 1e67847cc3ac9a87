import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ForbiddenError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { JobRecord } from '../core/job.ts';
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
import { WARM_EVENT } from './code-cache.ts';

/** What a dedicated function process is given: one tenant and the folder of its own store. */
export interface FunctionProcessOptions {
  tenantId: TenantId;
  /** `DATA_DIR/tenants/{id}`: its `jobs.sqlite` and `objects/`. */
  storeDir: string;
  maxReceiveCount?: number;
  /** The release this process runs (its code is loaded once; a new release gets a new process). */
  release?: string;
  releasesDir?: string;
}

export type ChildRequest =
  | { type: 'invoke'; id: number; event: SQSEvent; tenant: Tenant | undefined }
  | { type: 'sent'; id: number; error?: string };

export type ChildReport =
  | { type: 'ready' }
  | { type: 'result'; id: number; response: SQSBatchResponse }
  | { type: 'error'; id: number; message: string }
  | { type: 'job'; job: JobRecord }
  | { type: 'send'; id: number; queue: string; message: SendMessage };

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
 */
export function runFunctionProcess(wiring: FunctionProcessWiring): void {
  const options = JSON.parse(process.argv[2] ?? '{}') as FunctionProcessOptions;
  const post = (report: ChildReport) => process.send?.(report);
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
    send: (name: string, message: SendMessage) =>
      new Promise<{ messageId: string }>((resolve, reject) => {
        const id = nextSend++;
        sends.set(id, { resolve: () => resolve({ messageId: `via-parent-${id}` }), reject });
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
  process.on('disconnect', () => void flushTracing().then(() => process.exit(0)));
  process.on('SIGTERM', () => {
    void flushTracing().then(() => {
      store.close();
      process.exit(0);
    });
  });
  post({ type: 'ready' });
}
