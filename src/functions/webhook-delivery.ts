import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import {
  type RequestFilteringAgentOptions,
  RequestFilteringHttpAgent,
  RequestFilteringHttpsAgent,
} from 'request-filtering-agent';
import { Webhook } from 'standardwebhooks';
import { jobView } from '../core/job-view.ts';
import { checkWebhookUrl, type WebhookTargetPolicy } from '../core/webhook-target.ts';
import { traceWebhook } from '../observability/job-delivery.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UnderCircuit } from './delivery-outcome.ts';
import type { DeliveryOutcome } from './webhook-endpoints.ts';
import { decodeWebhookMessage } from './webhook-message.ts';

export interface WebhookDeliveryDeps {
  directory: TenantDirectory;
  stores: StoreProvider;
  /** Where webhooks may point: the policy the API registers them under, applied again at delivery. */
  policy: WebhookTargetPolicy;
  timeoutMs?: number;
  /** How host names are resolved (default: the system resolver); what it returns is checked before use. */
  lookup?: LookupFunction;
}

/** A delivery that did not happen; `refused` when the target policy stopped it rather than the receiver. */
export class WebhookDeliveryError extends Error {
  readonly refused: boolean;
  constructor(message: string, options: { refused: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WebhookDeliveryError';
    this.refused = options.refused;
  }
}

/**
 * Delivers one webhook message: the job's current view, signed per Standard Webhooks with the tenant's
 * secret, posted once (a redirect is a failure, never followed). Resolves when done (delivered, or
 * nothing to deliver any more).
 * @throws WebhookDeliveryError when the target is refused by the policy (its URL, or the address the
 * connection would reach) or the receiver did not answer 2xx in `timeoutMs`; the caller retries later.
 */
export async function deliverWebhook(deps: WebhookDeliveryDeps, body: string): Promise<void> {
  const message = decodeWebhookMessage(body);
  if (!message) return;
  const tenant = await deps.directory.get(message.tenantId);
  const webhook = tenant?.config.webhook;
  if (!tenant || !webhook) return;
  const job = await tenantDataFor(deps.stores, tenant).jobs.get(message.jobId);
  if (!job) return;
  // Checked again here: the URL may predate the policy, or the operator may have narrowed it since.
  const target = checkWebhookUrl(webhook.url, deps.policy);
  const where = `webhook of ${tenant.id} for job ${job.id}`;
  if (!target.ok) {
    const what = target.kind === 'address' ? `private address (${target.reason})` : target.reason;
    throw new WebhookDeliveryError(`${where} refused: ${what}`, { refused: true });
  }
  // The id is stable per job and status, so a receiver can drop a retried delivery it already has.
  const id = `msg_${job.id}_${message.status}`;
  const timestamp = new Date();
  const payload = JSON.stringify({
    type: `job.${message.status}`,
    timestamp: timestamp.toISOString(),
    data: jobView(job),
  });
  const signature = new Webhook(webhook.secret).sign(id, timestamp, payload);
  const status = await post(target.url, payload, {
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signature,
    },
    // The agent checks the address each connection actually reaches (after DNS, so rebinding a name
    // to a private address is refused too); an allowlisted name may reach private addresses.
    agent: guardedAgent(target.url, {
      allowPrivateIPAddress: target.allowlisted === 'name',
      allowIPAddressList: agentAllowList(deps.policy, target.url),
      // What ipaddr.js (the agent's classifier) calls unicast but checkAddress refuses: one rule both times.
      denyIPAddressList: DENIED_AT_CONNECT,
    }),
    signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    ...(deps.lookup ? { lookup: deps.lookup } : {}),
  }).catch((error: unknown) => {
    if (error instanceof Error && /^DNS lookup .* is not allowed/.test(error.message)) {
      // The address is left out: this message is the tenant's `lastError`, and the address a name of the
      // platform's network resolves to (`db.internal`) is no tenant's business. The cause keeps it.
      throw new WebhookDeliveryError(`${where} refused: private address (the name resolved to one)`, {
        refused: true,
        cause: error,
      });
    }
    throw new WebhookDeliveryError(`${where} not delivered: ${String(error)}`, {
      refused: false,
      cause: error,
    });
  });
  if (status >= 300 && status < 400) {
    throw new WebhookDeliveryError(`${where} not delivered: answered ${status}; redirects are not followed`, {
      refused: false,
    });
  }
  if (status < 200 || status >= 300) {
    throw new WebhookDeliveryError(`${where} not delivered: answered ${status}`, { refused: false });
  }
}

/** One POST; resolves with the status once the response has been read, never following a redirect (Web Push too). */
export function post(url: URL, body: string | Uint8Array, options: RequestOptions): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        ...options,
        method: 'POST',
        headers: { ...options.headers, 'content-length': Buffer.byteLength(body) },
      },
      (response: IncomingMessage) => {
        response.on('error', reject);
        response.on('end', () => resolve(response.statusCode ?? 0));
        response.resume();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** IPv4-compatible IPv6 (`::a.b.c.d`, RFC 4291 §2.5.5.1): some stacks route it to the IPv4 address. */
export const DENIED_AT_CONNECT = ['::/96'];

export function guardedAgent(url: URL, options: RequestFilteringAgentOptions) {
  return url.protocol === 'https:'
    ? new RequestFilteringHttpsAgent(options)
    : new RequestFilteringHttpAgent(options);
}

/**
 * The policy's ranges as request-filtering-agent reads them: single addresses as exact text, ranges as
 * CIDR. For an address URL only its own family, as the agent warns when matching across families.
 */
export function agentAllowList(policy: WebhookTargetPolicy, url: URL): string[] {
  const family = url.hostname.startsWith('[') ? 'ipv6' : ipaddr.isValid(url.hostname) ? 'ipv4' : undefined;
  return policy.allowRanges.flatMap((text) => {
    const [address, prefix] = ipaddr.parseCIDR(text);
    if (family && address.kind() !== family) return [];
    const single = prefix === (address.kind() === 'ipv4' ? 32 : 128);
    return [single ? text.slice(0, text.lastIndexOf('/')) : text];
  });
}

/** A webhook message: signed and posted under its tenant's endpoint circuit; one that is not, dropped. */
export function webhookOutcome(
  deps: WebhookDeliveryDeps,
  body: string,
  attributes: Record<string, string>,
  underCircuit: UnderCircuit,
): Promise<DeliveryOutcome> {
  const tenantId = decodeWebhookMessage(body)?.tenantId;
  // Not a webhook message: nothing will ever deliver it.
  if (!tenantId) return Promise.resolve({ kind: 'delivered' });
  return underCircuit(tenantId, () => traceWebhook(attributes, () => deliverWebhook(deps, body)));
}
