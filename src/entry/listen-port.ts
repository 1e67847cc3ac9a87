import { createServer } from 'node:net';
import { ConfigError } from '../core/errors.ts';

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
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(host, port, error)));
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

/** What a failed bind means for whoever set HOST and PORT: a busy port, or a setting to change. */
function listenError(host: string, port: number, error: NodeJS.ErrnoException): Error {
  const options = { cause: error };
  switch (error.code) {
    case 'EADDRINUSE':
      return new PortInUseError(port, options);
    case 'EACCES':
      return new ConfigError(
        'PORT',
        `Port ${port} needs privileges this process does not have (EACCES): set PORT to 1024 or above`,
        options,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        'HOST',
        `HOST ${host} is not an address of this machine (EADDRNOTAVAIL): set HOST to 127.0.0.1, 0.0.0.0 or one of its addresses`,
        options,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ConfigError('HOST', `HOST ${host} does not resolve to an address (${error.code})`, options);
    default:
      return error;
  }
}

/** Whether `error` is the listener's `EADDRINUSE` (the port was taken in the instant after `release`). */
export function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'EADDRINUSE';
}
