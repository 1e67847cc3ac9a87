import type { Server, Socket } from 'node:net';

/**
 * Listens `server` (an HTTP or plain TCP server) on a free port of 127.0.0.1: its `http://` URL, the sockets
 * open now, and `stop`, which ends them (a server that never answers keeps them) and closes it.
 */
export async function listenLocally(
  server: Server,
): Promise<{ url: string; sockets: Set<Socket>; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    sockets,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
