import { plainExecArgv, tsExecArgv } from '../../src/runtime/module-url.ts';
import { forkPrebuilt, prebuiltEntry } from '../../src/runtime/prebuilt.ts';

// Run by exec-argv.test.ts with the flags a server may be started with (an inspector's port, as its own
// argument): forks a compute process from its bundle and prints how it began, and the flags either kind of
// child would get.
if (prebuiltEntry('compute-process') === undefined) throw new Error('no bundle of compute-process');
const began = await new Promise<string>((resolve) => {
  const child = forkPrebuilt(
    'compute-process',
    { relative: '../../src/runtime/compute-process', base: import.meta.url },
    [],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced' },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  child.once('message', (message) => {
    child.kill();
    resolve(JSON.stringify(message));
  });
  child.once('exit', (code) => resolve(`exited ${code}: ${stderr.split('\n').find((l) => /Error/.test(l))}`));
});
console.log(JSON.stringify({ began, plain: plainExecArgv(), ts: tsExecArgv() }));
