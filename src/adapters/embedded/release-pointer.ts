import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUILTIN_RELEASE } from '../../core/release.ts';
import type { ReleasePointer } from '../../ports/release-pointer.ts';

/** How long one turn's answer is kept when the turn goes on (a microtask-only stretch). */
const LONGEST_TURN_MS = 100;

/**
 * The current release as `{dir}/current.json` (`{ "id": "...", "since": "ISO time" }`) in the releases
 * folder: read by every process (server, function threads and processes) that opens the folder.
 */
export function createFileReleasePointer(dir: string): ReleasePointer {
  /** The last pointer read, with the identity of the file it was read from. */
  let pointer: { ino: number; mtimeMs: number; id: string } | undefined;
  /**
   * The answer of this event-loop turn: the submits a busy API takes in one turn share one stat (it was
   * 2.8 % of the API thread's time under load, session 14). Forgotten at the turn's end, and by `setCurrent`.
   */
  let thisTurn: string | undefined;
  /**
   * When `thisTurn` was read. A turn can be long: a queue consumer whose jobs only await settled promises
   * (synchronous SQLite, blocking object writes) runs one job after another without reaching setImmediate
   * (200 in one turn with such a handler), and kept the release it read first for all of them.
   */
  let rememberedAt = 0;
  const remember = (id: string): string => {
    if (thisTurn === undefined) setImmediate(() => (thisTurn = undefined));
    thisTurn = id;
    rememberedAt = Date.now();
    return id;
  };
  return {
    async current() {
      if (thisTurn !== undefined && Date.now() - rememberedAt < LONGEST_TURN_MS) return thisTurn;
      // Every submit and every job asks: a stat, not a read, when the pointer has not changed. `setCurrent`
      // renames a new file into place, so a change always brings a new inode; another process's change is
      // seen in the next event-loop turn, or after LONGEST_TURN_MS of a longer one.
      const path = join(dir, 'current.json');
      const stat = statSync(path, { throwIfNoEntry: false });
      if (!stat) return remember(BUILTIN_RELEASE);
      if (pointer?.ino === stat.ino && pointer.mtimeMs === stat.mtimeMs) return remember(pointer.id);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      const id = text ? (JSON.parse(text) as { id?: unknown }).id : undefined;
      const current = typeof id === 'string' ? id : BUILTIN_RELEASE;
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
      thisTurn = undefined;
    },
  };
}
