import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Threads and child processes run TypeScript sources through tsx when the parent does (npm start, tests),
 * and plain `.js` when the code was bundled; this picks the right file and loader flags.
 */
export function moduleUrl(relative: string, base: string): string {
  const extension = base.endsWith('.ts') ? '.ts' : '.js';
  return new URL(relative + extension, base).href;
}

const runningTypeScript = import.meta.url.endsWith('.ts');

/** Inspector flags whose value may come as the next argument (`--inspect-port 9231`). */
const INSPECTOR_VALUE_FLAGS = new Set(['--inspect-port', '--debug-port', '--inspect-publish-uid']);

/**
 * The parent's flags without its inspector's (a child would take the same port), values given as their own
 * argument included: left behind, `9231` of `--inspect-port 9231` was the script Node ran in the child.
 */
function withoutInspector(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (INSPECTOR_VALUE_FLAGS.has(arg)) i++;
    else if (!arg.startsWith('--inspect') && !arg.startsWith('--debug-port')) out.push(arg);
  }
  return out;
}

/** Flags for a child process: `--import tsx` is process-wide, so it works for forks. */
export function tsExecArgv(): string[] {
  const inherited = withoutInspector(process.execArgv);
  if (!runningTypeScript) return inherited;
  return inherited.some((a) => a === 'tsx' || a.includes('tsx/dist/loader'))
    ? inherited
    : [...inherited, '--import', 'tsx'];
}

/** Flags that load a module before the entry (`-r` is `--require`; `--experimental-loader` is `--loader`). */
const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/** Flags for a child process running prebuilt JavaScript: the parent's, without tsx's loader (and inspectors). */
export function plainExecArgv(): string[] {
  const out: string[] = [];
  const args = withoutInspector(process.execArgv);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (PRELOAD_FLAGS.has(arg) && /tsx/.test(args[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^(--import|--require|-r|--loader|--experimental-loader)=.*tsx/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}

/**
 * Starts a worker thread on a module. Node 20 does not pass loader hooks on to worker threads, so a
 * TypeScript worker first registers tsx in its own thread, then imports the module.
 */
export function startModuleWorker(url: string, options: WorkerOptions): Worker {
  if (!url.endsWith('.ts')) return new Worker(new URL(url), options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(code, { ...options, eval: true });
}
