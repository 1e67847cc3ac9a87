import { closeSync, openSync } from 'node:fs';
import { getModel } from '../../src/models/registry.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { createComputePool } from '../../src/runtime/compute-pool.ts';

// Run by compute-pool.test.ts with a low file descriptor limit: a run asked of the pool while every
// descriptor is taken (no process can start), then again once they are free. Prints how each ended.
const input = resolveInput(
  getModel('funds'),
  {},
  { simulations: 2_000, fundLifeYears: 10, periodsPerYear: 4 },
).effectiveInput;
const pool = createComputePool({ size: 1, nice: 0 });
const outcome = async (start: () => Promise<unknown>): Promise<string> => {
  try {
    return await start().then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    );
  } catch (error) {
    return `threw: ${(error as Error).message}`;
  }
};

const taken: number[] = [];
try {
  for (;;) taken.push(openSync('/dev/null', 'r'));
} catch {
  // EMFILE: every descriptor is taken.
}
const first = await outcome(() => pool.runParts('funds', input, [{ start: 0, count: 100 }]));
for (const fd of taken) closeSync(fd);
const second = await outcome(() => pool.runParts('funds', input, [{ start: 100, count: 100 }]));
await pool.close();
process.stdout.write(JSON.stringify({ first, second }));
