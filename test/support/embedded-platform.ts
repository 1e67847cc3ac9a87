import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Durability } from '../../src/adapters/embedded/store-provider.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';

/**
 * Embedded platforms on temp DATA_DIRs of their own (`silopool-{prefix}-…`), each closed and removed after
 * the test that opened it. Call once per file; the returned function opens one.
 */
export function tempPlatforms(
  prefix: string,
): (durability?: Durability) => { platform: EmbeddedPlatform; dir: string } {
  const open: { platform: EmbeddedPlatform; dir: string }[] = [];
  afterEach(async () => {
    for (const { platform, dir } of open.splice(0)) {
      await platform.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return (durability) => {
    const dir = mkdtempSync(join(tmpdir(), `silopool-${prefix}-`));
    const opened = { platform: openEmbeddedPlatform(dir, durability), dir };
    open.push(opened);
    return opened;
  };
}
