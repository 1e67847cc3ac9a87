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
