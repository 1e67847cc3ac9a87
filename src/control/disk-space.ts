import { statfs } from 'node:fs/promises';

export interface DiskSpace {
  /** Bytes this process may still write to the filesystem of DATA_DIR (what non-root users get). */
  freeBytes: number;
  /** Size of that filesystem in bytes. */
  sizeBytes: number;
  /** Below this many free bytes the server reports itself `degraded` (`SILOPOOL_MIN_FREE_BYTES`). */
  minFreeBytes: number;
}

/** Reads the free space of the filesystem holding `dir` (statfs); fresh on every call, it is cheap. */
export function diskSpaceOf(dir: string, minFreeBytes: number): () => Promise<DiskSpace> {
  return async () => {
    const stats = await statfs(dir);
    return { freeBytes: stats.bavail * stats.bsize, sizeBytes: stats.blocks * stats.bsize, minFreeBytes };
  };
}

/** Prometheus lines for the free space of DATA_DIR. */
export function diskSpaceMetrics(space: DiskSpace): string {
  return [
    '# HELP silopool_data_dir_free_bytes Free bytes on the filesystem of DATA_DIR.',
    '# TYPE silopool_data_dir_free_bytes gauge',
    `silopool_data_dir_free_bytes ${space.freeBytes}`,
    '# HELP silopool_data_dir_size_bytes Size of the filesystem of DATA_DIR in bytes.',
    '# TYPE silopool_data_dir_size_bytes gauge',
    `silopool_data_dir_size_bytes ${space.sizeBytes}`,
    '# HELP silopool_data_dir_min_free_bytes Free bytes below which /healthz answers degraded.',
    '# TYPE silopool_data_dir_min_free_bytes gauge',
    `silopool_data_dir_min_free_bytes ${space.minFreeBytes}`,
    '',
  ].join('\n');
}
