import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHandlerDeps as embeddedDeps } from '../../src/entry/embedded-wiring.ts';
import type { FunctionThreadDeps } from '../../src/runtime/function-runtime.ts';

/**
 * A function thread factory (through tsx) of the embedded platform whose directory never answers for the
 * tenant `options.hangTenant`: that tenant's jobs hang before their `running` status (a store that never
 * answers), in the real handler. Each such attempt is a line in `{dataDir}/hang-attempts`. A job of another
 * tenant claimed while one hangs on this thread waits there on its first attempt (a file marks it): so the
 * hanging job always times out beside another event of its thread, the case EVENTS_PER_THREAD > 1 makes.
 */
export async function createHandlerDeps(options: Record<string, unknown>): Promise<FunctionThreadDeps> {
  const deps = await embeddedDeps(options);
  const dataDir = String(options.dataDir);
  const hangTenant = String(options.hangTenant);
  let hanging = false;
  const never = new Promise<never>(() => undefined);
  const directory = Object.assign(Object.create(deps.directory) as typeof deps.directory, {
    get(id: string) {
      if (id !== hangTenant) return deps.directory.get(id as never);
      hanging = true;
      appendFileSync(join(dataDir, 'hang-attempts'), 'attempt\n');
      return never;
    },
  });
  const dataFor: FunctionThreadDeps['dataFor'] = async (tenant, jobId, lane) => {
    const marker = join(dataDir, `neighbour-${jobId}`);
    if (hanging && !existsSync(marker)) {
      writeFileSync(marker, '');
      await never;
    }
    return deps.dataFor(tenant, jobId, lane);
  };
  return { ...deps, directory, dataFor };
}
