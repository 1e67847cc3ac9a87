import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll's default of 1 s is shorter than a browser or a busy server takes here under the whole
    // suite on two cores (a service worker's second notification took longer in a CI run): 10 s.
    expect: { poll: { timeout: 10_000 } },
    pool: 'forks',
    reporters: ['default'],
  },
});
