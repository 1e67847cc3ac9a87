import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassDeadlineError, refreshAfterChange } from '../../src/runtime/refresh-after.ts';
import { listenLocally } from '../support/local-server.ts';

// A service that accepts connections and never answers: a read a refresh makes of it never settles.
let url: string;
let local: Awaited<ReturnType<typeof listenLocally>>;
beforeAll(async () => {
  local = await listenLocally(createServer((socket) => socket.on('data', () => {})));
  url = `${local.url}/tenants`;
});
afterAll(() => local.stop());

describe('a refresh whose read never answers', () => {
  it('is abandoned at its deadline with its read aborted, and the next refresh runs', async () => {
    let runs = 0;
    let aborted = false;
    const { refresh, idle } = refreshAfterChange(
      async (signal) => {
        runs += 1;
        if (runs > 1) return;
        signal.addEventListener('abort', () => (aborted = true));
        await fetch(url, { signal });
      },
      { what: 'Test refresh', timeoutMs: 300 },
    );
    const error = await refresh().then(
      () => undefined,
      (e: unknown) => e,
    );
    // On the old helper the refresh never settled, nor did any asked for after it.
    expect(error).toBeInstanceOf(PassDeadlineError);
    expect(aborted).toBe(true);
    await refresh();
    expect(runs).toBe(2);
    await idle();
    // The silent server saw the abandoned read's connection closed.
    await expect.poll(() => local.sockets.size).toBe(0);
  });
});
