import { settingOf } from '../core/settings.ts';

type Env = Record<string, string | undefined>;

/**
 * Who drives placement moves: `here` (the local server; the control function) or `scheduled` (the API on
 * Lambda, which freezes between requests, records them and the control function drives them).
 */
export function moveDriverOf(env: Env, fallback: 'here' | 'scheduled'): 'here' | 'elsewhere' {
  const value = settingOf(env, 'SILOPOOL_MOVE_RUNNER') ?? fallback;
  if (value !== 'here' && value !== 'scheduled')
    throw new Error(`SILOPOOL_MOVE_RUNNER must be here or scheduled; got "${value}".`);
  return value === 'here' ? 'here' : 'elsewhere';
}
