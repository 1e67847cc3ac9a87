import { existsSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { secureDataDir, writePrivateFile } from '../adapters/embedded/data-dir.ts';
import { lockDataDir } from '../adapters/embedded/data-dir-lock.ts';
import { MigrationLockedError } from '../adapters/embedded/database.ts';
import { ConfigError, DataDirInUseError } from '../core/errors.ts';
import { PRIVATE_FILE_MODE } from '../core/file-modes.ts';
import { readConfig, type ServerConfig } from './config.ts';
import { PortInUseError, reservePort } from './listen-port.ts';
import { startPlatform, WEB_ROOT } from './platform.ts';
import { stopOnSignals } from './shutdown.ts';

// Before any file is made: whatever this process (and its worker threads and function processes, which
// inherit it) creates in DATA_DIR is private even where a writer forgets to pass a mode.
process.umask(0o077);

/**
 * A setting a user can fix, a busy port, a DATA_DIR in use, a database another process keeps locked past a
 * migration's wait: one line and exit 1, no stack trace.
 */
function refuse(error: unknown): never {
  if (
    error instanceof PortInUseError ||
    error instanceof DataDirInUseError ||
    error instanceof ConfigError ||
    error instanceof MigrationLockedError
  ) {
    const advice =
      error instanceof DataDirInUseError ? ' Stop it first, or set DATA_DIR to another folder.' : '';
    process.stderr.write(`silopool: ${error.message}${advice}\n`);
    process.exit(1);
  }
  throw error;
}

let config: ServerConfig;
try {
  config = readConfig();
} catch (error) {
  refuse(error);
}
/**
 * In an order that creates nothing before a refusal: the DATA_DIR lock where one exists (a second server
 * is told the first one's address, even on the same port), then the port, and only then DATA_DIR itself.
 */
async function start() {
  let lock = lockDataDir(config.dataDir, 'server', { create: false });
  try {
    const port = await reservePort(config.host, config.port);
    try {
      await secureDataDir(config.dataDir);
      lock ??= lockDataDir(config.dataDir, 'server', { create: true })!;
      return { lock, running: await startPlatform(config, { beforeListen: () => port.release() }) };
    } finally {
      await port.release();
    }
  } catch (error) {
    lock?.release();
    throw error;
  }
}

// Refusals a user can act on are one line, and leave DATA_DIR as it was (server-url, operator-token).
const { lock, running } = await start().catch(refuse);

// The CLI reads this file to act as the operator against this DATA_DIR.
await writePrivateFile(join(config.dataDir, 'operator-token'), running.operatorToken);
// The address the server listens on, not PUBLIC_URL: the CLI sends the operator token there, and only the
// process holding DATA_DIR's lock holds that address (a proxy or name in front of it may lead elsewhere).
const serverUrlFile = join(config.dataDir, 'server-url');
await writePrivateFile(serverUrlFile, running.localUrl);

process.stdout.write(
  `\nSilopool is running at ${running.url} (data in ${config.dataDir})\n` +
    `Operator login: ${running.url}/login#token=${running.operatorToken}\n` +
    `API docs: ${running.url}/docs · CLI: npx silopool --help\n\n`,
);
if (!existsSync(join(WEB_ROOT, 'index.html')))
  process.stdout.write(
    'The web app is not built (web/dist is missing), so the login link and console answer 404 until it is: ' +
      'run `npm run build:web` (npm install does), then restart. The API and the CLI work meanwhile.\n\n',
  );

// The CLI's operator token expires with SILOPOOL_OPERATOR_TOKEN_LIFETIME: renew the file at half its life.
const renewal = setInterval(
  () => {
    running
      .mintOperatorToken()
      .then(async (token) => {
        // Written aside and renamed: a CLI reading the file meanwhile never sees it half written.
        const path = join(config.dataDir, 'operator-token');
        await writeFile(`${path}.next`, token, { mode: PRIVATE_FILE_MODE });
        await rename(`${path}.next`, path);
      })
      .catch((error: unknown) => running.app.log.error({ err: error }, 'operator token renewal'));
  },
  // setInterval takes at most 2^31-1 ms (about 24.8 days); beyond that Node would fire every millisecond.
  Math.min((config.tokenLifetimes.operatorSec * 1000) / 2, 2 ** 31 - 1),
);
renewal.unref();

stopOnSignals({
  graceMs: config.shutdownGraceSec * 1000,
  stop: async (drainMs) => {
    // Gone before the port is freed: a stopping server holds DATA_DIR while it drains its jobs, and whoever
    // took the freed port meanwhile would be the server the CLI finds and sends the operator token to.
    await rm(serverUrlFile, { force: true }).catch((error: unknown) =>
      running.app.log.error({ err: error }, 'server-url could not be removed'),
    );
    await running.stop(drainMs);
    lock.release();
  },
  log: (message) => running.app.log.warn(message),
});
