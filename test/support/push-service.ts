import { createDecipheriv, createECDH, type ECDH, hkdfSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A push message as the push service received it. */
export interface PushRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A browser's side of a subscription: the keys a PushManager would make (RFC 8291 §3). */
export interface BrowserKeys {
  ecdh: ECDH;
  authSecret: Buffer;
  /** As `PushSubscription.toJSON().keys` gives them (base64url). */
  keys: { p256dh: string; auth: string };
}

export function browserKeys(): BrowserKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const authSecret = randomBytes(16);
  return {
    ecdh,
    authSecret,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
  };
}

/**
 * Decrypts an `aes128gcm` Web Push body with the browser's keys, written here from RFC 8291 §3.3–3.4 and
 * RFC 8188 §2 (not with the library that encrypted it), so a wrong encryption cannot pass by symmetry.
 */
export function decryptPush(body: Buffer, browser: BrowserKeys): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20]!;
  const senderPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  const ecdhSecret = browser.ecdh.computeSecret(senderPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browser.ecdh.getPublicKey(), senderPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, browser.authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([
    decipher.update(ciphertext.subarray(0, ciphertext.length - 16)),
    decipher.final(),
  ]);
  // The last record ends with the delimiter 0x02 and then zero padding (RFC 8188 §2).
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end).toString('utf8');
}

export interface PushService {
  url: string;
  received: PushRequest[];
  /** How a path answers: a status, or `hang` (never answers until close). Default 201. */
  answer(path: string, how: number | 'hang'): void;
  /** Requests held open by `hang` right now. */
  hanging(): number;
  waitFor(match: (r: PushRequest) => boolean, timeoutMs?: number): Promise<PushRequest>;
  close(): Promise<void>;
}

/** A local HTTP server standing in for a browser vendor's push service (which is not reachable offline). */
export async function startPushService(): Promise<PushService> {
  const received: PushRequest[] = [];
  const answers = new Map<string, number | 'hang'>();
  const held = new Set<ServerResponse>();
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const path = request.url ?? '/';
      const how = answers.get(path) ?? 201;
      if (how === 'hang') {
        held.add(response);
        response.on('close', () => held.delete(response));
        return;
      }
      received.push({ path, headers: request.headers, body: Buffer.concat(chunks) });
      for (const wake of waiters) wake();
      response.writeHead(how).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer: (path, how) => answers.set(path, how),
    hanging: () => held.size,
    waitFor(match, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = received.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching push; received ${received.map((r) => r.path).join(', ')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
