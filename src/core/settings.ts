import { ConfigError } from './errors.ts';

/** The environment a setting is read from: `process.env`, or the variables a test or a function thread is given. */
export type SettingsEnv = Readonly<Record<string, string | undefined>>;

/**
 * A setting's text, or undefined when it is unset or set but empty. Both mean "not set" on every backend:
 * a `.env` or compose file's `NAME=`, a CDK or Lambda value left blank. Read with `??`, an empty value was
 * taken as set: an empty JWKS URL, claim name or releases folder (the working folder), an empty AWS account
 * (no bucket owner named on S3 requests), an empty traces endpoint that turned tracing off.
 */
export function settingOf(env: SettingsEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** The first of `names` that is set (not empty), as `settingOf` reads each. */
export function firstSettingOf(env: SettingsEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = settingOf(env, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * An http(s) URL setting, or undefined when unset or empty.
 * @throws ConfigError naming the variable when it is set to anything else
 */
export function urlSettingOf(env: SettingsEnv, name: string): string | undefined {
  const value = settingOf(env, name);
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // Port 0 parses but nothing listens there: every call to it would fail, long after the start.
  if ((url?.protocol !== 'http:' && url?.protocol !== 'https:') || url.port === '0')
    throw new ConfigError(name, `${name} must be an http:// or https:// URL (not port 0), not "${value}"`);
  return value;
}

/**
 * A whole number setting, `fallback` when unset or empty.
 * @throws ConfigError naming the variable when malformed or outside `min`..`max`
 */
export function intSettingOf(
  env: SettingsEnv,
  name: string,
  fallback: number,
  { min = 0, max }: { min?: number; max?: number } = {},
): number {
  const value = settingOf(env, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `${min} or more` : `from ${min} to ${max}`;
    throw new ConfigError(name, `${name} must be a whole number ${range}, not "${value}"`);
  }
  return n;
}

/**
 * One of `choices`, `fallback` when unset or empty.
 * @throws ConfigError naming the variable and the choices for anything else
 */
export function choiceSettingOf<T extends string>(
  env: SettingsEnv,
  name: string,
  choices: readonly T[],
  fallback: T,
): T {
  const value = settingOf(env, name) ?? fallback;
  if (!(choices as readonly string[]).includes(value))
    throw new ConfigError(name, `${name} must be one of ${choices.join(', ')}, not "${value}"`);
  return value as T;
}

const TRUE_WORDS: ReadonlySet<string> = new Set(['1', 'true', 'on', 'yes']);
const FALSE_WORDS: ReadonlySet<string> = new Set(['0', 'false', 'off', 'no']);

/**
 * A yes/no setting, `fallback` when unset or empty: `1`, `true`, `on`, `yes` or `0`, `false`, `off`, `no`,
 * in any case, spaces around ignored. Each flag was compared with one spelling (`=== 'on'`, `1`/`true`), so
 * `SILOPOOL_NOTIFICATIONS=true` or `SILOPOOL_WEBHOOK_ALLOW_HTTP=TRUE` was silently off.
 * @throws ConfigError naming the variable for anything else
 */
export function flagSettingOf(env: SettingsEnv, name: string, fallback = false): boolean {
  const value = settingOf(env, name);
  if (value === undefined) return fallback;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new ConfigError(name, `${name} must be on or off (1, true, yes / 0, false, no), not "${value}"`);
}
