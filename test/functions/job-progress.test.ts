import { describe, expect, it } from 'vitest';
import type { JobProgress, JobRecord } from '../../src/core/job.ts';
import { progressReporter, runPartsReporting } from '../../src/functions/job-progress.ts';
import { fundsModel } from '../../src/models/funds/index.ts';
import type { FundsInput } from '../../src/models/funds/schema.ts';
import { resolveInput } from '../../src/models/rules.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

describe('job progress', () => {
  it('writes and announces at most one report per 250 ms, and always the last one', () => {
    let clock = 0;
    const written: JobProgress[] = [];
    const heard: JobRecord[] = [];
    const job = { ...makeJob(randomTenantId()), status: 'running' as const, version: 3 };
    const reporter = progressReporter({
      jobs: {
        recordProgress: async (id, version, progress) => {
          expect([id, version]).toEqual([job.id, 3]);
          written.push(progress);
          return true;
        },
      },
      job,
      unit: 'paths',
      notify: (j) => heard.push(j),
      now: () => clock,
    });
    for (let done = 10; done <= 1000; done += 10) {
      reporter.report(done, 1000);
      clock += 20;
    }
    // 100 reports over 2 s: one every 250 ms (13 of 20 ms steps), plus the final one.
    expect(written.length).toBe(9);
    // Each with when it was written: the run's last evidence of running, should its end never be seen.
    expect(written[0]).toEqual({ done: 10, total: 1000, unit: 'paths', at: '1970-01-01T00:00:00.000Z' });
    expect(written.at(-1)).toEqual({
      done: 1000,
      total: 1000,
      unit: 'paths',
      at: '1970-01-01T00:00:01.980Z',
    });
    expect(heard.map((j) => j.progress)).toEqual(written);
    expect(heard.every((j) => j.version === 3 && j.status === 'running')).toBe(true);
    reporter.stop();
    clock += 1000;
    reporter.report(1000, 1000);
    expect(written.length).toBe(9);
  });

  it('a funds run reports its paths, and gives the same result as without reporting', () => {
    const input = resolveInput(fundsModel, {}, { simulations: 1000, growthVolatility: 0.25 })
      .effectiveInput as FundsInput;
    const reports: [number, number][] = [];
    const reported = fundsModel.run(input, {}, (d, t) => reports.push([d, t]));
    expect(reported).toEqual(fundsModel.run(input, {}));
    expect(reports).toEqual([200, 400, 600, 800, 1000].map((d) => [d, 1000]));
    expect(fundsModel.progress?.total(input)).toBe(1000);
  });

  it('a parallel run reports as each part ends, results in plan order', async () => {
    const plan = [
      { start: 0, count: 300 },
      { start: 300, count: 300 },
      { start: 600, count: 400 },
    ];
    const reports: [number, number][] = [];
    const results = await runPartsReporting(
      { ...fundsModel, progress: { ...fundsModel.progress!, total: () => 1000 } } as never,
      {},
      plan,
      // The middle part ends last.
      async (_model, _input, [part]) => {
        const p = part as { start: number };
        await new Promise((r) => setTimeout(r, p.start === 300 ? 30 : 5));
        return [p.start];
      },
      (d, t) => reports.push([d, t]),
    );
    expect(results).toEqual([0, 300, 600]);
    expect(reports).toEqual([
      [300, 1000],
      [700, 1000],
      [1000, 1000],
    ]);
  });
});
