import { describe, expect, it } from 'vitest';
import { readConfig } from '../../src/entry/config.ts';

// Durations from the environment end up in setTimeout/setInterval, which take at most 2^31 − 1 ms
// (24.8 days) and run anything longer after 1 ms: SILOPOOL_METRICS_INTERVAL_SEC=3000000 sampled metrics
// history in a busy loop, SILOPOOL_SSE_MAX_LIFE_SEC=3000000 ended every event stream at once (clients
// reconnecting in a loop). Refused at start, naming the variable, like any malformed setting.
describe('durations in the environment', () => {
  const timed = [
    'SILOPOOL_METRICS_INTERVAL_SEC',
    'SILOPOOL_SSE_MAX_LIFE_SEC',
    'SILOPOOL_VISIBILITY_TIMEOUT_SEC',
    'SILOPOOL_RECONCILE_GRACE_SEC',
    'SILOPOOL_SHUTDOWN_GRACE_SEC',
  ];

  it.each(timed)('%s past what a timer can wait is refused, naming it', (name) => {
    expect(() => readConfig({ [name]: '3000000' })).toThrow(name);
    expect(() => readConfig({ [name]: '2147483' })).not.toThrow();
  });

  it('a malformed number names its variable', () => {
    expect(() => readConfig({ SILOPOOL_METRICS_RETENTION_DAYS: 'two' })).toThrow(
      'SILOPOOL_METRICS_RETENTION_DAYS',
    );
  });
});
