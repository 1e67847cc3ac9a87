import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writePrivateFile } from '../adapters/embedded/data-dir.ts';
import { readConfig } from './config.ts';
import { startPlatform } from './platform.ts';

// Before any file is made: whatever this process (and its worker threads and function processes, which
// inherit it) creates in DATA_DIR is private even where a writer forgets to pass a mode.
process.umask(0o077);

const config = readConfig();
const running = await startPlatform(config);
// The CLI reads this file to act as the operator against this DATA_DIR.
await writePrivateFile(join(config.dataDir, 'operator-token'), running.operatorToken);
await writePrivateFile(join(config.dataDir, 'server-url'), running.url);

process.stdout.write(
  `\nSilopool is running at ${running.url} (data in ${config.dataDir})\n` +
    `Operator login: ${running.url}/login#token=${running.operatorToken}\n` +
    `API docs: ${running.url}/docs · CLI: npx silopool --help\n\n`,
);

// The CLI's operator token expires with SILOPOOL_OPERATOR_TOKEN_LIFETIME: renew the file at half its life.
const renewal = setInterval(
  () => {
    running
      .mintOperatorToken()
      .then(async (token) => {
        // Written aside and renamed: a CLI reading the file meanwhile never sees it half written.
        const path = join(config.dataDir, 'operator-token');
        await writeFile(`${path}.next`, token, { mode: 0o600 });
        await rename(`${path}.next`, path);
      })
      .catch((error: unknown) => running.app.log.error({ err: error }, 'operator token renewal'));
  },
  // setInterval takes at most 2^31-1 ms (about 24.8 days); beyond that Node would fire every millisecond.
  Math.min((config.tokenLifetimes.operatorSec * 1000) / 2, 2 ** 31 - 1),
);
renewal.unref();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
