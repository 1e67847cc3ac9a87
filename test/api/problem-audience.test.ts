import { describe, expect, it } from 'vitest';
import { MigrationLockedError } from '../../src/adapters/embedded/database.ts';
import { toProblem } from '../../src/api/problem.ts';
import { problemFor } from '../../src/api/problem-audience.ts';
import {
  ConfigError,
  OperatorPathError,
  ReleasePointerError,
  StoreNotFoundError,
  TenantSettingsError,
  UnavailableError,
  ValidationError,
} from '../../src/core/errors.ts';
import { FunctionTimeoutError } from '../../src/runtime/slot-reservations.ts';

// Every 5xx the platform raises, as its tenant reads it: the status and code, a fixed sentence, nothing of
// the server's files, variables, queues or functions. The operator reads the error's own words.
const secret = '/srv/silopool-data/tenants/acme/jobs.sqlite';
const faults = [
  new OperatorPathError('releases_unreadable', 'releases folder', secret, { code: 'EACCES' }),
  new ReleasePointerError(secret, 'it is not JSON'),
  new MigrationLockedError(secret, 3, 10_000, new Error('SQLITE_BUSY')),
  new ConfigError('SILOPOOL_SECRET_PATH', `SILOPOOL_SECRET_PATH ${secret} cannot be read`),
  new UnavailableError(`SQS returned no URL for queue ${secret}.`),
  new FunctionTimeoutError(secret, 30_000),
];

describe('a platform fault as its reader sees it', () => {
  it.each(faults.map((e) => [e.code, e] as const))('%s: the tenant reads no internals', (_code, error) => {
    const body = toProblem(error);
    expect(JSON.stringify(body)).toContain(secret);
    const shown = problemFor(body, 'tenant');
    expect(shown).toMatchObject({ status: body.status, code: body.code, type: body.type });
    expect(JSON.stringify(shown)).not.toContain(secret);
    expect(Object.keys(shown).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
    expect(problemFor(body, 'operator')).toEqual(body);
  });

  it("keeps a tenant's own words: its settings' problems, its store, and every 4xx", () => {
    const settings = toProblem(
      new TenantSettingsError('acme', [{ path: '/config/formatting/locale', message: 'is not a locale' }]),
    );
    expect(problemFor(settings, 'tenant')).toEqual(settings);
    const input = toProblem(new ValidationError([{ path: '/input/growth', message: 'must be >= 1' }]));
    expect(problemFor(input, 'tenant')).toEqual(input);
    // Its own dedicated store missing is still a platform fault: the code tells it to try again.
    const store = problemFor(toProblem(new StoreNotFoundError('acme')), 'tenant');
    expect(store).toMatchObject({ status: 503, code: 'store_not_found' });
    expect(store.detail).toMatch(/try again/i);
  });
});
