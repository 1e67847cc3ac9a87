import { ConfigError, ValidationError } from './errors.ts';

/** How long tokens the embedded issuer mints may live, in seconds. */
export interface TokenLifetimes {
  /** A minted token that names no lifetime gets this one. */
  defaultSec: number;
  /** No minted token lives longer; asking for more is a 400. Older tokens are refused once past it. */
  maxSec: number;
  /** The operator login token the server writes at start (and renews before it expires). */
  operatorSec: number;
}

export const DEFAULT_TOKEN_LIFETIMES: TokenLifetimes = {
  defaultSec: 3600,
  maxSec: 24 * 3600,
  operatorSec: 12 * 3600,
};

const UNIT_SEC = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const LIFETIME = /^([1-9][0-9]{0,6})([smhd])$/;

/** `'90s'`, `'15m'`, `'12h'`, `'7d'` in seconds; undefined when the text is not such a lifetime. */
export function lifetimeSeconds(text: string): number | undefined {
  const match = LIFETIME.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SEC[match[2] as keyof typeof UNIT_SEC];
}

/**
 * The lifetime (seconds) of a token to mint: `requested` (like `'12h'`) or the default. Throws
 * ValidationError naming `path` when it is malformed or longer than the maximum.
 */
export function chooseLifetime(
  requested: string | undefined,
  lifetimes: TokenLifetimes,
  path = '/expiresIn',
): number {
  if (requested === undefined) return Math.min(lifetimes.defaultSec, lifetimes.maxSec);
  const seconds = lifetimeSeconds(requested);
  if (seconds === undefined) {
    throw new ValidationError([
      {
        path,
        message: `must be from 1s to ${describe(lifetimes.maxSec)}: a whole number and a unit s, m, h or d, like 15m or 12h`,
        rule: 'pattern',
      },
    ]);
  }
  if (seconds > lifetimes.maxSec) {
    throw new ValidationError([
      {
        path,
        message: `must be at most ${describe(lifetimes.maxSec)} (the maximum token lifetime), from 1s`,
        rule: 'maximum',
      },
    ]);
  }
  return seconds;
}

/**
 * Reads `SILOPOOL_TOKEN_DEFAULT_LIFETIME`, `SILOPOOL_TOKEN_MAX_LIFETIME` and `SILOPOOL_OPERATOR_TOKEN_LIFETIME`
 * (each like `12h`). Throws Error naming the variable when one is malformed or the default exceeds the maximum.
 */
export function readTokenLifetimes(env: NodeJS.ProcessEnv): TokenLifetimes {
  const read = (name: string, fallback: number): number => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const seconds = lifetimeSeconds(value);
    if (seconds === undefined)
      throw new ConfigError(name, `${name} must be a lifetime like 15m, 12h or 7d, not "${value}"`);
    return seconds;
  };
  const lifetimes = {
    defaultSec: read('SILOPOOL_TOKEN_DEFAULT_LIFETIME', DEFAULT_TOKEN_LIFETIMES.defaultSec),
    maxSec: read('SILOPOOL_TOKEN_MAX_LIFETIME', DEFAULT_TOKEN_LIFETIMES.maxSec),
    operatorSec: read('SILOPOOL_OPERATOR_TOKEN_LIFETIME', DEFAULT_TOKEN_LIFETIMES.operatorSec),
  };
  if (lifetimes.defaultSec > lifetimes.maxSec) {
    throw new ConfigError(
      'SILOPOOL_TOKEN_DEFAULT_LIFETIME',
      'SILOPOOL_TOKEN_DEFAULT_LIFETIME must not exceed SILOPOOL_TOKEN_MAX_LIFETIME',
    );
  }
  return lifetimes;
}

/** The oldest an embedded token may be and still verify: no minted token is meant to live longer. */
export function maxEmbeddedTokenAge(lifetimes: TokenLifetimes): number {
  return Math.max(lifetimes.maxSec, lifetimes.operatorSec);
}

function describe(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    // A day reads as 24h, the way the maximum is configured and documented.
    if (seconds % size === 0 && (unit !== 'd' || seconds > 86_400)) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
