import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_STORY_EVENTS,
  type StoryEvent,
  startEvents,
  storyWith,
  timelineOf,
} from '../../src/core/job-story.ts';

const event = (step: StoryEvent['step'], at: number): StoryEvent => ({
  step,
  at: new Date(at).toISOString(),
});

describe("a job's story", () => {
  it('orders steps by time, keeps recorded order within a millisecond, and times each until the next', () => {
    const t = Date.parse('2026-01-01T00:00:00Z');
    const story = storyWith({}, [event('submitted', t), event('admitted', t), event('queued', t)]);
    const later = storyWith(story, [
      event('running', t + 250),
      event('claimed', t + 200),
      event('succeeded', t + 1250),
    ]);
    expect(timelineOf(later).map((s) => [s.step, s.durationMs])).toEqual([
      ['submitted', 0],
      ['admitted', 0],
      ['queued', 200],
      ['claimed', 50],
      ['running', 1000],
      ['succeeded', undefined],
    ]);
  });

  it('stays bounded, keeping the first step and the newest ones', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 20 }), (batches) => {
        let job: { story?: ReturnType<typeof storyWith>['story'] } = {};
        let n = 0;
        for (const size of batches) {
          const events = Array.from({ length: size }, () => event('running', ++n));
          job = storyWith(
            job,
            events,
            events.map((e) => ({ at: e.at, level: 'info' as const, message: 'm' })),
          );
        }
        const events = job.story!.events;
        expect(events.length).toBe(Math.min(n, MAX_STORY_EVENTS));
        expect(events[0]!.at).toBe(new Date(1).toISOString());
        expect(events.at(-1)!.at).toBe(new Date(n).toISOString());
      }),
    );
  });

  it('records a takeover of a job left running as a failed attempt before the new claim', () => {
    const steps = startEvents({ status: 'running', attempts: 1, model: 'finance' }, 'tenant_acme_finance');
    expect(steps.map((s) => [s.step, s.attempt, s.fn])).toEqual([
      ['attempt_failed', 1, undefined],
      ['claimed', 2, 'dedicated:acme:finance'],
      ['running', 2, 'dedicated:acme:finance'],
    ]);
    // The delivery that threw recorded its failure: the takeover does not record it again.
    const told = storyWith({}, [{ step: 'attempt_failed', at: new Date().toISOString(), attempt: 1 }]);
    const takeover = startEvents(
      { status: 'running', attempts: 1, model: 'finance', ...told },
      'shared_finance',
    );
    expect(takeover.map((s) => s.step)).toEqual(['claimed', 'running']);
    expect(startEvents({ status: 'queued', attempts: 0, model: 'funds' }, 'shared_funds')[0]).toMatchObject({
      step: 'claimed',
      attempt: 1,
      lane: 'shared_funds',
      fn: 'shared:funds',
    });
  });
});
