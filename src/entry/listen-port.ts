import { createServer } from 'node:net';

/** The server's port is taken by another process; told in one line, before anything is created. */
export class PortInUseError extends Error {
  readonly code = 'port_in_use';
  constructor(port: number, options?: { cause?: unknown }) {
    super(`Port ${port} is in use: set PORT=… or stop the other process`, options);
    this.name = 'PortInUseError';
  }
}

export interface PortReservation {
  /** Frees the port for the real listener; call right before it listens. Idempotent. */
  release(): Promise<void>;
}

/**
 * Binds `host:port` now and holds it while the server starts, so a busy port is found before DATA_DIR is
 * made and the port cannot be taken between this check and the real listen (a probe that closes at once
 * would leave that window open for the whole startup). Connections meanwhile are dropped: nothing answers
 * yet. Port 0 picks a free port at listen time, so there is nothing to hold.
 */
export async function reservePort(host: string, port: number): Promise<PortReservation> {
  if (port === 0) return { release: async () => undefined };
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, { cause: error }) : error),
    );
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
  let released: Promise<void> | undefined;
  return {
    release: () => {
      released ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
      });
      return released;
    },
  };
}

/** Whether `error` is the listener's `EADDRINUSE` (the port was taken in the instant after `release`). */
export function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'EADDRINUSE';
}
