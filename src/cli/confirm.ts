import { createInterface } from 'node:readline/promises';
import { CliError } from './errors.ts';

/**
 * Asks before a command that cannot be undone (offboarding, revoking a key). `--yes` skips the question;
 * without a terminal to ask on (a script, CI) the command refuses unless `--yes` was given, so a pipeline
 * never deletes anything because nobody was there to say no. Throws CliError when not confirmed.
 */
export async function confirmDestructive(
  action: string,
  options: { yes?: boolean | undefined },
  io: { input: NodeJS.ReadableStream & { isTTY?: boolean }; output: NodeJS.WritableStream } = {
    input: process.stdin,
    output: process.stderr,
  },
): Promise<void> {
  if (options.yes) return;
  if (!io.input.isTTY) {
    throw new CliError(`Refusing to ${action} without a terminal to confirm it: pass --yes to go ahead.`);
  }
  const rl = createInterface({ input: io.input, output: io.output });
  try {
    const answer = await rl.question(
      `${action.charAt(0).toUpperCase()}${action.slice(1)}? This cannot be undone. [y/N] `,
    );
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliError('Cancelled: nothing was changed.');
  } finally {
    rl.close();
  }
}
