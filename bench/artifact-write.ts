/**
 * The cost of storing a job's workbook on the embedded backend (issue 14): CPU time (user and system, this
 * process) per object `put` of the file object store, with blocking calls as function threads make them,
 * for a small (41 KB) and a large (114 KB) finance workbook's size. Four ways side by side, in alternating
 * chunks of 250 writes (the file system's state drifts during a run, so each chunk of one way has a chunk
 * of the others next to it), reported as the median and quartiles over the chunks, in core-ms per write:
 *
 * - `previousPut`: the calls the store's put made until session 7 (strace), with its layout of a folder per
 *   job (`jobs/{id}/workbook.xlsx~o`): mkdir, open of a temp file, write, close, rename;
 * - `storePut`: this code's `put` (`jobs/{id}~workbook.xlsx~o` in the tenant's one `jobs/` folder);
 * - `bareOneFolder`: the floor of the file-per-object way: open, write, close, rename into one folder;
 * - `rowPut`: the store function threads use since session 8 (`createSqliteObjectStore`): the object as a
 *   row of a WAL job database with `synchronous=NORMAL`, as the job records are.
 *
 * `npx tsx bench/artifact-write.ts` (not part of `npm run bench`: it measures the file system).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/adapters/embedded/database.ts';
import { createFileObjectStore } from '../src/adapters/embedded/object-store.ts';
import { createSqliteObjectStore } from '../src/adapters/embedded/sqlite-object-store.ts';

const CHUNK = 250;
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 12);
const HEADER = Buffer.alloc(256);

type Way = (n: number) => Promise<void> | void;

async function chunkMs(way: Way, from: number): Promise<{ user: number; system: number }> {
  const before = process.cpuUsage();
  for (let i = 0; i < CHUNK; i++) await way(from + i);
  const { user, system } = process.cpuUsage(before);
  return { user: user / 1000 / CHUNK, system: system / 1000 / CHUNK };
}

function quartiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!.toFixed(3);
  return `${at(0.5)} (${at(0.25)}–${at(0.75)})`;
}

async function compare(size: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-bench-artifact-'));
  try {
    const body = randomBytes(size);
    const store = createFileObjectStore(join(dir, 'store'), { fsync: false, blockingIo: true });
    const db = openDatabase(join(dir, 'jobs.sqlite'));
    const rows = createSqliteObjectStore(
      () => db,
      createFileObjectStore(join(dir, 'row-files'), { fsync: false, blockingIo: true }),
    );
    const previousJobs = join(dir, 'previous', 'tenants', 't', 'jobs');
    const bare = join(dir, 'bare');
    mkdirSync(bare);
    const ways: Record<string, Way> = {
      previousPut(n) {
        const folder = join(previousJobs, `j${n}`);
        mkdirSync(folder, { recursive: true, mode: 0o700 });
        const temp = join(folder, `${randomBytes(8).toString('hex')}~t`);
        const fd = openSync(temp, 'wx', 0o600);
        writeSync(fd, Buffer.concat([HEADER, body]));
        closeSync(fd);
        renameSync(temp, join(folder, 'workbook.xlsx~o'));
      },
      storePut: (n) => store.put(`tenants/t/jobs/j${n}/workbook.xlsx`, body, 'application/x'),
      rowPut: (n) => rows.put(`tenants/t/jobs/j${n}/workbook.xlsx`, body, 'application/x'),
      bareOneFolder(n) {
        const temp = join(bare, `w${n}~t`);
        const fd = openSync(temp, 'wx', 0o600);
        writeSync(fd, body);
        closeSync(fd);
        renameSync(temp, join(bare, `w${n}~o`));
      },
    };
    const samples: Record<string, { user: number[]; system: number[] }> = {};
    for (const name of Object.keys(ways)) samples[name] = { user: [], system: [] };
    for (let c = 0; c < CHUNKS; c++) {
      for (const [name, way] of Object.entries(ways)) {
        const ms = await chunkMs(way, c * CHUNK);
        samples[name]!.user.push(ms.user);
        samples[name]!.system.push(ms.system);
      }
    }
    const report = Object.fromEntries(
      Object.entries(samples).map(([name, s]) => [
        name,
        { user: quartiles(s.user), system: quartiles(s.system) },
      ]),
    );
    console.log(JSON.stringify({ bytes: size, chunks: CHUNKS, writesPerChunk: CHUNK, ...report }));
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const size of [41_000, 114_000]) await compare(size);
