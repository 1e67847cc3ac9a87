import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefreshDeadlineError, refreshAfterChange } from '../../src/runtime/refresh-after.ts';

// A service that accepts connections and never answers: a read a refresh makes of it never settles.
let server: Server;
let url: string;
const sockets = new Set<Socket>();
beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/tenants`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

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
    expect(error).toBeInstanceOf(RefreshDeadlineError);
    expect(aborted).toBe(true);
    await refresh();
    expect(runs).toBe(2);
    await idle();
    // The silent server saw the abandoned read's connection closed.
    await expect.poll(() => sockets.size).toBe(0);
  });
});
