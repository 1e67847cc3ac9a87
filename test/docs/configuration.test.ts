import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { respectOperatorMsFrom } from '../../src/control/advisor-decisions.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { readConfig } from '../../src/entry/config.ts';
import { durabilityFromEnv } from '../../src/entry/embedded-wiring.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const SECTION = README.slice(
  README.indexOf('\n## Configuration (environment)\n'),
  README.indexOf('\n## ', README.indexOf('\n## Configuration (environment)\n') + 5),
);
const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanup.reverse()) c();
});

/** The table's rows: the variables of the first column, and the backquoted defaults of the second. */
const ROWS = SECTION.split('\n')
  .filter((line) => line.startsWith('| `'))
  .map((line) => {
    const [names = '', defaults = ''] = line.split(' | ');
    const quoted = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    return { names: quoted(names), defaults: quoted(defaults) };
  });

// OIDC_ISSUER set, so that the OIDC variables are read too.
const BASE = { OIDC_ISSUER: 'https://issuer.example' };

/** Every reader of the server's settings that takes the environment; the server calls each at start. */
const READERS: ((env: NodeJS.ProcessEnv) => unknown)[] = [
  (env) => readConfig({ ...BASE, ...env }),
  durabilityFromEnv,
  respectOperatorMsFrom,
];

function outcome(read: (env: NodeJS.ProcessEnv) => unknown, env: NodeJS.ProcessEnv): unknown {
  try {
    return read(env);
  } catch (error) {
    return error;
  }
}

/** The ConfigError a reader throws for this value of `name`, if one does. */
function refusal(name: string, value: string): ConfigError | undefined {
  for (const read of READERS) {
    const result = outcome(read, { [name]: value });
    if (result instanceof ConfigError) return result;
    if (result instanceof Error) throw result;
  }
  return undefined;
}

describe('README, "Configuration (environment)"', () => {
  it('each documented default is what the server uses when the variable is unset', () => {
    const checked: string[] = [];
    for (const { names, defaults } of ROWS) {
      if (names.length !== defaults.length) continue;
      names.forEach((name, i) => {
        // A variable these readers do not take (a path, a file) has nothing to compare here.
        const reads = READERS.filter((read) => {
          const odd = outcome(read, { [name]: 'x§' });
          return odd instanceof Error || JSON.stringify(odd) !== JSON.stringify(outcome(read, {}));
        });
        for (const read of reads)
          expect(outcome(read, { [name]: defaults[i]! }), `${name}=${defaults[i]}`).toEqual(
            outcome(read, {}),
          );
        if (reads.length > 0) checked.push(name);
      });
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'PORT',
        'HOST',
        'DATA_DIR',
        'LOG_LEVEL',
        'SILOPOOL_VISIBILITY_TIMEOUT_SEC',
        'SILOPOOL_MAX_RECEIVES',
        'SILOPOOL_SHUTDOWN_GRACE_SEC',
        'SILOPOOL_DURABILITY',
        'SILOPOOL_TOKEN_MAX_LIFETIME',
        'OIDC_MAX_TOKEN_AGE',
        'OIDC_TENANTS_CLAIM',
        'SILOPOOL_ADVISOR_RESPECT_DAYS',
      ]),
    );
  });

  it('a malformed number in any numeric variable is refused, naming it', () => {
    const numeric = ROWS.flatMap(({ names, defaults }) =>
      names.filter((_, i) => /^\d+$/.test(defaults[i] ?? '')),
    );
    expect(numeric.length).toBeGreaterThan(10);
    for (const name of numeric) {
      const error = refusal(name, 'twelve');
      expect(error?.message, name).toContain(name);
    }
  });

  it('a documented URL setting that is no http(s) URL is refused, naming it', () => {
    for (const name of ['PUBLIC_URL', 'OIDC_ISSUER', 'OIDC_JWKS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
      expect(SECTION, name).toContain(`\`${name}\``);
      expect(refusal(name, 'notaurl')?.variable, name).toBe(name);
      expect(refusal(name, 'https://example.com'), name).toBeUndefined();
    }
  });

  it('the variables it says are at least 1 refuse 0, and SILOPOOL_MAX_RECEIVES is 1 to 1000', () => {
    const sentence = /waits\); (.*?) are at least 1/.exec(SECTION.replace(/\n/g, ' '))?.[1];
    const names = [...(sentence ?? '').matchAll(/[A-Z][A-Z_]+/g)].map((m) => m[0]);
    expect(names).toContain('SILOPOOL_WORKERS');
    for (const name of names) {
      expect(refusal(name, '0')?.variable, name).toBe(name);
      expect(refusal(name, '1'), name).toBeUndefined();
    }
    expect(refusal('SILOPOOL_MAX_RECEIVES', '1001')?.variable).toBe('SILOPOOL_MAX_RECEIVES');
    expect(refusal('SILOPOOL_MAX_RECEIVES', '1000')).toBeUndefined();
    expect(refusal('LOG_LEVEL', 'loud')?.variable).toBe('LOG_LEVEL');
  });
});

describe('every environment variable the code reads', () => {
  it('is named in README.md or docs/*.md', () => {
    const docs = [
      README,
      ...readdirSync(join(ROOT, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => readFileSync(join(ROOT, 'docs', f), 'utf8')),
    ].join('\n');
    const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(join(ROOT, 'src', f), 'utf8'));
    const read = new Set(sources.flatMap(settingsReadBy));
    expect(read.size).toBeGreaterThan(50);
    // Whole names: SILOPOOL_TOKEN is not documented by SILOPOOL_TOKEN_MAX_LIFETIME.
    const undocumented = [...read].filter((name) => !new RegExp(`\\b${name}(?![A-Z0-9_])`).test(docs));
    expect(undocumented).toEqual([]);
  });
});

/**
 * The environment variables a source file reads: `env.NAME` and `env['NAME']`, the names given to the
 * settings readers of src/core/settings.ts (`settingOf(env, 'NAME')`, `firstSettingOf(env, 'A', 'B')`, …),
 * and the OpenID Connect names config.ts composes from a prefix (`prefix: 'OIDC_'` × `name('ISSUER')`).
 */
function settingsReadBy(text: string): string[] {
  const direct = [...text.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!);
  const readers = [
    ...text.matchAll(
      /\b(?:setting|firstSetting|urlSetting|intSetting|choiceSetting|flagSetting)Of\(([^)]*)\)/g,
    ),
  ].flatMap((m) => [...m[1]!.matchAll(/(?<!name\()'([A-Z][A-Z0-9_]+)'/g)].map((n) => n[1]!));
  const fields = [...text.matchAll(/\bsetting: '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!);
  const prefixes = [...text.matchAll(/\bprefix: '([A-Z][A-Z0-9_]*_)'/g)].map((m) => m[1]!);
  const suffixes = [...text.matchAll(/\bname\('([A-Z][A-Z0-9_]+)'\)/g)].map((m) => m[1]!);
  return [...direct, ...readers, ...fields, ...prefixes.flatMap((p) => suffixes.map((x) => p + x))];
}

/** Runs the server entry as `npm start` does until it exits; resolves with its exit code and output. */
function runServer(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/entry/server.ts')], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('a setting the server cannot use', () => {
  it('stops the start with the one line the README quotes, creating nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-config-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const quoted = /\(`(silopool: PORT must [^`]+)`\)/.exec(SECTION.replace(/\n/g, ' '))![1]!;
    const { code, stderr } = await runServer({ DATA_DIR: join(dir, 'data'), PORT: '70000' });
    expect(code).toBe(1);
    expect(stderr).toBe(`${quoted}\n`);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 60_000);

  it('a file a setting names that cannot be read is one line too, also once DATA_DIR is open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-config-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const missing = join(dir, 'costs.yaml');
    const { code, stderr, stdout } = await runServer({
      DATA_DIR: join(dir, 'data'),
      SILOPOOL_COST_TABLE: missing,
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^silopool: SILOPOOL_COST_TABLE ${missing}: ENOENT[^\\n]*\\n$`));
    expect(stdout).not.toContain('Silopool is running');
  }, 60_000);
});
