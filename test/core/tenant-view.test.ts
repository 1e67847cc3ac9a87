import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnavailableError, ValidationError } from '../../src/core/errors.ts';
import { failureForTenant, failureOf, PLATFORM_FAULT_MESSAGE } from '../../src/core/failure.ts';
import type { JobRecord } from '../../src/core/job.ts';
import { jobView } from '../../src/core/job-view.ts';
import { jobNotice } from '../../src/core/notifications.ts';
import { logForTenant, storyEventForTenant } from '../../src/core/tenant-view.ts';

/** A raw cause an older release kept in a record: a marker no fixed sentence contains. */
const RAW = fc.string({ minLength: 1, maxLength: 80 }).map((s) => `RAW<${s}>/srv/data`);
/** Codes whose messages are never the tenant's: the raw cause was kept under them. */
const RAW_CODES = fc.constantFrom(
  'internal',
  'model_error',
  'unavailable',
  'corrupt_write',
  'connect',
  'Error',
);

describe('failureForTenant', () => {
  it('never shows a raw cause kept under a code that is not written for the tenant', () => {
    fc.assert(
      fc.property(RAW_CODES, RAW, (code, raw) => {
        expect(JSON.stringify(failureForTenant({ code, message: raw }))).not.toContain('RAW<');
        const wrapped = failureForTenant({
          code: 'retries_exhausted',
          message: `The job failed on every attempt: ${raw}`,
        });
        expect(wrapped.message).not.toContain('RAW<');
        const newShape = `The job failed on every attempt (${code}): ${raw}`;
        expect(failureForTenant({ code: 'retries_exhausted', message: newShape }).message).not.toContain(
          'RAW<',
        );
      }),
    );
  });

  it('keeps what was written for the tenant, and a failure step judged the same way', () => {
    const mine = { code: 'validation_failed', message: '/input/years must be at most 50' };
    expect(failureForTenant(mine)).toEqual(mine);
    expect(
      storyEventForTenant({ step: 'failed', at: 'x', detail: `${mine.code}: ${mine.message}` }).detail,
    ).toBe(`${mine.code}: ${mine.message}`);
  });

  it('failureOf writes a typed platform fault as a fixed sentence, its message for operators', () => {
    const fault = failureOf(
      new UnavailableError("Tenant t's table silopool-jobs-t does not exist in eu-west-1."),
    );
    expect(fault).toMatchObject({ code: 'unavailable', message: PLATFORM_FAULT_MESSAGE });
    expect(fault.internal).toContain('silopool-jobs-t');
    const input = failureOf(new ValidationError([{ path: '/input/years', message: 'must be at most 50' }]));
    expect(input).toEqual({ code: 'validation_failed', message: '/input/years must be at most 50' });
  });
});

describe('story steps and log lines of any release', () => {
  it('drop internal, raw details, raw log fields and operators’ names', () => {
    fc.assert(
      fc.property(RAW, (raw) => {
        const steps = [
          storyEventForTenant({ step: 'attempt_failed', at: 'x', detail: raw, internal: raw }),
          storyEventForTenant({ step: 'dead_lettered', at: 'x', detail: `unavailable: ${raw}` }),
          storyEventForTenant({ step: 'retried', at: 'x', detail: `by ${raw}` }),
          storyEventForTenant({ step: 'redriven', at: 'x', detail: raw }),
        ];
        const log = logForTenant({
          at: 'x',
          level: 'error',
          message: 'm',
          fields: { error: raw },
          internal: raw,
        });
        expect(JSON.stringify([steps, log])).not.toContain('RAW<');
      }),
    );
  });
});

describe('what leaves for the tenant outside the API', () => {
  const old = {
    id: 'j_01',
    tenantId: 't-1',
    model: 'finance',
    status: 'failed',
    artifacts: [],
    error: {
      code: 'model_error',
      message: "TypeError: reading 'secretField' at /opt/releases/r1/finance.js",
    },
  } as unknown as JobRecord;

  it('a webhook payload (jobView) and a notification (jobNotice) carry no raw cause', () => {
    expect(JSON.stringify(jobView(old))).not.toContain('secretField');
    expect(JSON.stringify(jobNotice(old))).not.toContain('secretField');
    expect(JSON.stringify(jobView(old, 'operator'))).toContain('secretField');
  });
});
