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

// SILOPOOL_MAX_RECEIVES=0 dead-lettered every accepted job before its first run ("after 0 receives"), and
// SILOPOOL_VISIBILITY_TIMEOUT_SEC=0 made a received message visible again at once, so every job ran up to
// its receive count in parallel: both passed as "a whole number from 0". Refused at start, naming them.
describe('counts and timeouts of the lanes', () => {
  it.each(['0', '-1', '1001', '2.5'])('SILOPOOL_MAX_RECEIVES=%s is refused, naming it', (value) => {
    expect(() => readConfig({ SILOPOOL_MAX_RECEIVES: value })).toThrow('SILOPOOL_MAX_RECEIVES');
  });

  it('SILOPOOL_MAX_RECEIVES from 1 to 1000 (SQS) is taken', () => {
    expect(readConfig({ SILOPOOL_MAX_RECEIVES: '1' }).maxReceiveCount).toBe(1);
    expect(readConfig({ SILOPOOL_MAX_RECEIVES: '1000' }).maxReceiveCount).toBe(1000);
  });

  it('SILOPOOL_VISIBILITY_TIMEOUT_SEC=0 is refused, naming it; 1 is taken', () => {
    expect(() => readConfig({ SILOPOOL_VISIBILITY_TIMEOUT_SEC: '0' })).toThrow(
      'SILOPOOL_VISIBILITY_TIMEOUT_SEC',
    );
    expect(readConfig({ SILOPOOL_VISIBILITY_TIMEOUT_SEC: '1' }).visibilityTimeoutSec).toBe(1);
  });
});

// The sibling of SILOPOOL_SSE_MAX_LIFE_SEC=3000000 above: 0 also ended every event stream as it opened
// (a `reconnect` event at once), and clients reopened them in a loop.
describe('event stream life', () => {
  it('SILOPOOL_SSE_MAX_LIFE_SEC=0 is refused, naming it; 1 is taken', () => {
    expect(() => readConfig({ SILOPOOL_SSE_MAX_LIFE_SEC: '0' })).toThrow('SILOPOOL_SSE_MAX_LIFE_SEC');
    expect(readConfig({ SILOPOOL_SSE_MAX_LIFE_SEC: '1' }).eventStreams.maxLifeMs).toBe(1000);
  });
});
