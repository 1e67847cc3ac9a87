import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { createSqsMessageQueue } from '../../src/adapters/aws/message-queue.ts';
import type { MessageQueue } from '../../src/ports/message-queue.ts';
import { type AwsEmulators, startAwsEmulators } from './aws-emulators.ts';

/** A request the proxy passed on to SQS, in the order it did. */
export interface Forwarded {
  action: string;
  body: Record<string, unknown>;
}

/**
 * A real HTTP proxy in front of an SQS emulator (JSON protocol) that holds the ChangeMessageVisibility calls
 * `hold` picks: they reach no SQS and get no answer until `releaseHeld()` (or never), like a stalled endpoint.
 * A held call whose client gave up (closed its connection) is never passed on.
 */
export interface SqsHoldProxy {
  url: string;
  /** Which ChangeMessageVisibility calls to hold (by their body); none by default. */
  hold(pick: (body: Record<string, unknown>) => boolean): void;
  /** Held calls whose client is still waiting now. */
  waiting(): number;
  /** The most held calls seen waiting at once. */
  mostWaiting(): number;
  /** Held calls whose client closed its connection before an answer. */
  abandoned(): number;
  /** Passes every held call still waiting on to SQS, in order; how many there were. */
  releaseHeld(): Promise<number>;
  forwarded: Forwarded[];
  stop(): Promise<void>;
}

export async function startSqsHoldProxy(target: string): Promise<SqsHoldProxy> {
  const upstream = new URL(target);
  const forwarded: Forwarded[] = [];
  const sockets = new Set<Socket>();
  let pick: (body: Record<string, unknown>) => boolean = () => false;
  let held: { gone: () => boolean; forward: () => Promise<void> }[] = [];
  let most = 0;
  let abandoned = 0;
  const stillWaiting = () => held.filter((h) => !h.gone()).length;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
      const body = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
      const forward = () =>
        new Promise<void>((resolve) => {
          forwarded.push({ action, body });
          const out = httpRequest(
            {
              host: upstream.hostname,
              port: upstream.port,
              method: req.method,
              path: req.url,
              headers: { ...req.headers, host: upstream.host },
            },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
              answer.on('end', () => resolve());
            },
          );
          out.on('error', () => {
            res.destroy();
            resolve();
          });
          out.end(raw);
        });
      if (action === 'ChangeMessageVisibility' && pick(body)) {
        let gone = false;
        res.on('close', () => {
          if (!res.writableEnded) {
            gone = true;
            abandoned += 1;
          }
        });
        held.push({ gone: () => gone, forward });
        most = Math.max(most, stillWaiting());
        return;
      }
      void forward();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hold(p) {
      pick = p;
    },
    waiting: stillWaiting,
    mostWaiting: () => most,
    abandoned: () => abandoned,
    async releaseHeld() {
      const now = held;
      held = [];
      let passed = 0;
      for (const h of now) {
        if (h.gone()) continue;
        passed += 1;
        await h.forward();
      }
      return passed;
    },
    forwarded,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The SQS emulator behind a hold proxy, and a queue adapter whose client has no timeouts of its own. */
export async function startProxiedSqs(): Promise<{
  aws: AwsEmulators;
  proxy: SqsHoldProxy;
  queue: MessageQueue;
  stop(): Promise<void>;
}> {
  const aws = await startAwsEmulators();
  const proxy = await startSqsHoldProxy(aws.endpoints.sqs);
  const client = new SQSClient({
    endpoint: proxy.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const queue = createSqsMessageQueue({ client, queueUrlPrefix: `${proxy.url}/000000000000/` });
  return {
    aws,
    proxy,
    queue,
    async stop() {
      await proxy.releaseHeld();
      await proxy.stop();
      client.destroy();
      await aws.stop();
    },
  };
}

/** startProxiedSqs for the tests of one file: started before them, stopped after; read it inside a test. */
export function proxiedSqsForFile(): { readonly proxy: SqsHoldProxy; readonly queue: MessageQueue } {
  let proxied: Awaited<ReturnType<typeof startProxiedSqs>> | undefined;
  beforeAll(async () => {
    proxied = await startProxiedSqs();
  });
  afterAll(() => proxied?.stop());
  return {
    get proxy() {
      return proxied!.proxy;
    },
    get queue() {
      return proxied!.queue;
    },
  };
}
