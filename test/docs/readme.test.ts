import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const cleanup: (() => void)[] = [];
afterAll(() => {
  for (const c of cleanup.reverse()) c();
});

/** The fenced blocks of one language in a section of a Markdown text (from its heading to the next `## `). */
function blocks(markdown: string, heading: string, lang: string): string[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section "${heading}"`);
  const end = markdown.indexOf('\n## ', start + heading.length + 2);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === lang).map((m) => m[2]!);
}

/** A quoted line with `http://127.0.0.1:3000` and a token placeholder, as a pattern for the real line. */
function linePattern(quoted: string): RegExp {
  const escaped = quoted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(
    `^${escaped.replace('http://127\\.0\\.0\\.1:3000', 'http://127\\.0\\.0\\.1:\\d+').replace(/eyJ…|<operator JWT>/, 'eyJ[\\w.-]+')}$`,
    'm',
  );
}

/** Starts the server entry as `npm start` does, on `cwd/data`; resolves with its URL and stdout. */
function startServer(cwd: string): Promise<{ url: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    // From the checkout, where `--import tsx` resolves; its data is the reader's ./data.
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/entry/server.ts')], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: join(cwd, 'data'), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const url = /^Silopool is running at (\S+)/m.exec(stdout)?.[1];
      if (url && stdout.includes('API docs')) resolve({ url, stdout });
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}): ${stderr}`)));
  });
}

describe('the README quick start', () => {
  it('prints the start-up line README.md and docs/web.md quote, and runs top to bottom as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silopool-readme-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { url, stdout } = await startServer(dir);

    // The line both documents quote is the line the server prints.
    const quotedInReadme = blocks(README, '## Quick start (embedded default)', '')[0]!.trim();
    const web = readFileSync(join(ROOT, 'docs/web.md'), 'utf8');
    const quotedInWeb = /server prints\s+`([^`]+)`/.exec(web)![1]!;
    for (const quoted of [quotedInReadme, quotedInWeb]) expect(stdout).toMatch(linePattern(quoted));

    const sh = blocks(README, '## Quick start (embedded default)', 'sh');
    // The first block installs and starts the server, which this test has done.
    expect(sh[0]).toMatch(/npm install[\s\S]*npm start/);
    const [yaml] = blocks(README, '### Tenants as a file (`tenants.yaml`)', 'yaml');
    writeFileSync(join(dir, 'tenants.yaml'), yaml!);
    const script = [
      'set -euo pipefail',
      `npx() { if [ "$1" = silopool ]; then shift; "${process.execPath}" "${join(ROOT, 'bin/silopool.mjs')}" "$@"; else command npx "$@"; fi; }`,
      ...sh.slice(1),
    ]
      .join('\n')
      .replaceAll('127.0.0.1:3000', url.replace(/^https?:\/\//, ''));
    // As a reader runs it: no DATA_DIR set, so the CLI finds the server through ./data/server-url.
    const { DATA_DIR: _unset, ...env } = process.env;
    const { stdout: out } = await promisify(execFile)('bash', ['-c', script], {
      cwd: dir,
      env,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stdout: string; stderr: string }) => {
      throw new Error(`the quick start failed:\n${error.stdout}\n${error.stderr}`);
    });
    expect(out).toContain('event: status');
    expect(out).toMatch(/"status":"succeeded"/);
    expect(out).toContain('Plan (');
    expect(out).toContain(`Offboarded acme; export written to acme.zip`);
    expect(readdirSync(dir).some((f) => f.endsWith('.xlsx'))).toBe(true);
    expect(existsSync(join(dir, 'acme.zip'))).toBe(true);
  }, 180_000);
});
