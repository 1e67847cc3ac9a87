import type { TenantDirectory } from '../../src/ports/tenant-directory.ts';

/** `directory`, but its first `list` never answers (a store that stalls); the later ones do. */
export function firstListingStalls(directory: TenantDirectory): {
  directory: TenantDirectory;
  /** How many listings were asked for. */
  lists(): number;
} {
  let lists = 0;
  return {
    directory: {
      ...directory,
      list(query) {
        lists++;
        return lists === 1 ? new Promise<never>(() => {}) : directory.list(query);
      },
    },
    lists: () => lists,
  };
}
