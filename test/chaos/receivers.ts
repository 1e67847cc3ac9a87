import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Delivery {
  webhookId: string;
  jobId: string;
  type: string;
  receivedAt: number;
  finishedAt: string;
  /** The Standard Webhooks signature checked with the tenant's secret. */
  verified: boolean;
}

/**
 * - `ok`: answers 204 at once.
 * - `dead`: nothing listens on its port (connection refused).
 * - `hang`: reads the request and never answers.
 * - `slow`: the first request of each webhook-id is answered after `slowMs` (past the sender's timeout), a
 *   retry at once: the sender counts the first as failed, so the receiver sees that id twice.
 * - `redirect`: answers 307 to `location` (which must never be followed).
 */
export type Behaviour = 'ok' | 'dead' | 'hang' | { slowMs: number } | { redirect: string };

export interface Receiver {
  url: string;
  behaviour: Behaviour;
  /** Set once the tenant's webhook points here. */
  secret?: string;
  /** Requests answered 2xx, in arrival order (a hung one is never answered and not listed). */
  deliveries: Delivery[];
  /** Every request that arrived, answered or not. */
  requests(): number;
  close(): Promise<void>;
}

/** A local webhook receiver on loopback. */
export async function startReceiver(behaviour: Behaviour): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const seen = new Set<string>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests += 1;
      if (behaviour === 'hang') return;
      if (typeof behaviour === 'object' && 'redirect' in behaviour) {
        res.writeHead(307, { location: behaviour.redirect }).end();
        return;
      }
      const webhookId = String(req.headers['webhook-id']);
      const answer = () => {
        const payload = JSON.parse(body) as { type: string; data: { id: string; finishedAt: string } };
        deliveries.push({
          webhookId,
          jobId: payload.data.id,
          type: payload.type,
          receivedAt: Date.now(),
          finishedAt: payload.data.finishedAt,
          verified: verify(receiver.secret, body, req.headers),
        });
        res.writeHead(204).end();
      };
      const first = !seen.has(webhookId);
      seen.add(webhookId);
      if (typeof behaviour === 'object' && first) setTimeout(answer, behaviour.slowMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  if (behaviour === 'dead') await new Promise<void>((resolve) => server.close(() => resolve()));
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    behaviour,
    deliveries,
    requests: () => requests,
    async close() {
      if (behaviour === 'dead') return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

function verify(secret: string | undefined, body: string, headers: Record<string, unknown>): boolean {
  if (!secret) return false;
  try {
    new Webhook(secret).verify(body, headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}
