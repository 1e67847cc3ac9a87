import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReleasePointerError } from '../../core/errors.ts';
import { BUILTIN_RELEASE, unreadableReleases } from '../../core/release.ts';
import { type ReleasePointer, storedReleaseId } from '../../ports/release-pointer.ts';
import { TurnMemo } from './turn-memo.ts';

/**
 * The current release as `{dir}/current.json` (`{ "id": "...", "since": "ISO time" }`) in the releases
 * folder: read by every process (server, function threads and processes) that opens the folder.
 */
export function createFileReleasePointer(dir: string): ReleasePointer {
  /** The last pointer read, with the identity of the file it was read from. */
  let pointer: { ino: number; mtimeMs: number; id: string } | undefined;
  /**
   * The answer of this event-loop turn: the submits a busy API takes in one turn share one stat (it was
   * 2.8 % of the API thread's time under load, session 14). Forgotten at the turn's end (or after
   * LONGEST_TURN_MS of a long one, turn-memo.ts), and by `setCurrent`.
   */
  const thisTurn = new TurnMemo<string>();
  const remember = (id: string): string => thisTurn.remember(id);
  return {
    async current() {
      const remembered = thisTurn.get();
      if (remembered !== undefined) return remembered;
      // Every submit and every job asks: a stat, not a read, when the pointer has not changed. `setCurrent`
      // renames a new file into place, so a change always brings a new inode; another process's change is
      // seen in the next event-loop turn, or after LONGEST_TURN_MS of a longer one.
      const path = join(dir, 'current.json');
      let stat: ReturnType<typeof statSync>;
      try {
        stat = statSync(path, { throwIfNoEntry: false });
      } catch (error) {
        // The folder there but unreadable, or a file where it belongs: a 503 naming it, not a bare 500.
        throw unreadableReleases(dir, error);
      }
      if (!stat) return remember(BUILTIN_RELEASE);
      if (pointer?.ino === stat.ino && pointer.mtimeMs === stat.mtimeMs) return remember(pointer.id);
      let text: string | undefined;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        // Gone since the stat (removed by hand): the built-in release, as when there is none. Any other
        // failure (EMFILE under load) says nothing of the pointer: it is not kept for this file, which would
        // answer `builtin` until the pointer next changes; the last pointer read answers, or the error.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          if (pointer) return pointer.id;
          throw unreadableReleases(dir, error);
        }
      }
      // Gone since the stat: as when there is none. Anything else must name a release (a damaged file read as
      // `builtin` moved every unpinned tenant to other code, silently).
      const current = text === undefined ? BUILTIN_RELEASE : idIn(text, path);
      pointer = { ino: stat.ino, mtimeMs: stat.mtimeMs, id: current };
      // Not kept for the turn: the read above took turns of its own, and a setCurrent may have run meanwhile.
      return current;
    },
    async setCurrent(id) {
      // Write then rename: a reader sees the old pointer or the new one, never half of one. The temp name is
      // unique per call: two writers in one process and millisecond must not share (and lose) one file.
      const temp = join(dir, `.current.${process.pid}.${randomUUID()}.json`);
      await writeFile(temp, JSON.stringify({ id, since: new Date().toISOString() }));
      await rename(temp, join(dir, 'current.json'));
      // What this process asks next, in this very turn too, reads the new pointer.
      thisTurn.forget();
    },
  };
}

/** The release id a current.json holds. @throws ReleasePointerError naming the file when it holds none */
function idIn(text: string, path: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ReleasePointerError(path, 'it is not JSON');
  }
  return storedReleaseId((parsed as { id?: unknown } | null)?.id, path, '`id`');
}
