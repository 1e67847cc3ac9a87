import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recommendPlacement } from '../../src/core/advisor.ts';
import { checkRegion, type RegionPolicy } from '../../src/core/region.ts';
import { healthProblem, planWaves, releaseOf } from '../../src/core/release.ts';
import { models } from '../../src/models/registry.ts';
import { contractProblems } from '../../src/models/release-catalog.ts';

describe('upgrade waves', () => {
  it('are the canary, then batches doubling, every tenant once in its order', () => {
    expect(planWaves([...'abcdefghij']).map((w) => w.join(''))).toEqual(['a', 'bc', 'defg', 'hij']);
    expect(planWaves([])).toEqual([]);
    fc.assert(
      fc.property(
        fc.array(fc.integer(), { maxLength: 300 }),
        fc.double({ min: 1, max: 5, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        (tenants, growth, maxWave) => {
          const waves = planWaves(tenants, { growth, maxWave });
          expect(waves.flat()).toEqual(tenants);
          if (tenants.length > 0) expect(waves[0]).toHaveLength(1);
          for (const [i, wave] of waves.entries()) {
            expect(wave.length).toBeGreaterThan(0);
            expect(wave.length).toBeLessThanOrEqual(maxWave);
            // Never shrinking, except the last (what is left).
            if (i > 0 && i < waves.length - 1)
              expect(wave.length).toBeGreaterThanOrEqual(waves[i - 1]!.length);
          }
        },
      ),
    );
  });
});

describe("wave health against a tenant's own baseline", () => {
  const base = { finished: 100, failures: 20, deadLetters: 3 };
  it('blames the release for new dead letters or a failure rate above the baseline', () => {
    expect(healthProblem(base, { finished: 10, failures: 2, deadLetters: 3 })).toBeUndefined();
    expect(healthProblem(base, { finished: 10, failures: 4, deadLetters: 3 })).toMatch(/failure rate 40 %/);
    expect(healthProblem(base, { finished: 10, failures: 0, deadLetters: 4 })).toMatch(/1 new dead letters/);
    // A tenant that never failed: one failure out of two is unhealthy; with no job ended there is nothing to judge.
    const clean = { finished: 50, failures: 0, deadLetters: 0 };
    expect(healthProblem(clean, { finished: 2, failures: 1, deadLetters: 0 })).toBeDefined();
    expect(healthProblem(clean, { finished: 0, failures: 0, deadLetters: 0 })).toBeUndefined();
  });
});

describe('releases', () => {
  it('a dedicated tenant runs its own release, every other tenant the current one', () => {
    expect(releaseOf({ placement: 'dedicated', release: 'r2' }, 'r1')).toBe('r2');
    expect(releaseOf({ placement: 'dedicated' }, 'r1')).toBe('r1');
    expect(releaseOf({ placement: 'shared', release: 'r2' }, 'r1')).toBe('r1');
  });

  it('refuses a model that breaks the contract of the one it replaces', () => {
    const finance = models.finance!;
    expect(contractProblems(finance, { ...finance, version: '1.2.0' }, '1.2.0', '/m')).toEqual([]);
    const paths = (candidate: object, version = '1.2.0') =>
      contractProblems(finance, { ...finance, version: '1.2.0', ...candidate } as never, version, '/m').map(
        (p) => p.path,
      );
    expect(paths({ inputSchema: { ...finance.inputSchema, required: ['x'] } })).toEqual(['/m/inputSchema']);
    expect(paths({ sheetNames: ['Other'] })).toEqual(['/m/sheetNames']);
    expect(paths({ summaryUnits: {} })).toEqual(['/m/summaryUnits']);
    expect(paths({ name: 'funds' })).toEqual(['/m/name']);
    expect(paths({ run: 1 })).toEqual(['/m/run']);
    expect(paths({}, '1.3.0')).toEqual(['/m/version']);
  });
});

describe('contract regions', () => {
  const aws: RegionPolicy = { region: 'us-east-1', dedicatedRegions: 'any' };
  const embedded: RegionPolicy = { region: 'local', dedicatedRegions: ['local'] };
  it('shared placement only in the platform region; dedicated where the backend can deploy', () => {
    expect(() => checkRegion('eu-central-1', 'shared', aws)).toThrow(
      /region_requires_dedicated|not the platform/,
    );
    expect(() => checkRegion('eu-central-1', 'dedicated', aws)).not.toThrow();
    expect(() => checkRegion('eu-central-1', 'dedicated', embedded)).toThrowError(
      expect.objectContaining({ code: 'region_unavailable', status: 422 }),
    );
    expect(() => checkRegion(undefined, 'shared', aws)).not.toThrow();
    expect(() => checkRegion('us-east-1', 'shared', aws)).not.toThrow();
  });

  it('the advisor never advises shared placement for a tenant outside the platform region', () => {
    const signals = {
      tenantId: 't',
      placement: 'dedicated' as const,
      plan: 'free' as const,
      jobsPerMonth: 1,
      computeSecondsPerMonth: 1,
      shareOfSharedCompute: 0,
      waitP95Sec: 0,
      requiresIsolation: false,
    };
    expect(recommendPlacement(signals).recommended).toBe('shared');
    const pinned = recommendPlacement({ ...signals, foreignRegion: 'eu-central-1' });
    expect(pinned.recommended).toBe('dedicated');
    expect(pinned.reasons.join(' ')).toContain('eu-central-1');
  });
});
