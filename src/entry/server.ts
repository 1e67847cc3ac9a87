import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readConfig } from './config.ts';
import { startPlatform } from './platform.ts';

const config = readConfig();
const running = await startPlatform(config);
// The CLI reads this file to act as the operator against this DATA_DIR.
await writeFile(join(config.dataDir, 'operator-token'), running.operatorToken, { mode: 0o600 });
await writeFile(join(config.dataDir, 'server-url'), running.url, { mode: 0o600 });

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
