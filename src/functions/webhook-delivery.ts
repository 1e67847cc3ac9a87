import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction, NetConnectOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import ipaddr from 'ipaddr.js';
import {
  type RequestFilteringAgentOptions,
  RequestFilteringHttpAgent,
  RequestFilteringHttpsAgent,
} from 'request-filtering-agent';
import { Webhook } from 'standardwebhooks';
import { jobView } from '../core/job-view.ts';
import type { Tenant } from '../core/tenant.ts';
import { checkWebhookUrl, type WebhookTargetPolicy } from '../core/webhook-target.ts';
import { traceWebhook } from '../observability/job-delivery.ts';
import { tenantDataFor } from '../ports/placement-data.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { UnderCircuit } from './delivery-outcome.ts';
import { type DeliveryOutcome, EndpointDeliveryError, webhookEndpointKey } from './webhook-endpoints.ts';
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
export class WebhookDeliveryError extends EndpointDeliveryError {
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
 * `signal` (the attempt's deadline) aborts the POST, and once aborted none is sent.
 * @throws WebhookDeliveryError when the target is refused by the policy (its URL, or the address the
 * connection would reach) or the receiver did not answer 2xx in `timeoutMs` (or before `signal`); the caller
 * retries later. The signal's reason when it was aborted before the POST.
 */
export async function deliverWebhook(
  deps: WebhookDeliveryDeps,
  body: string,
  signal?: AbortSignal,
): Promise<void> {
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
  // Past the attempt's deadline while the reads above hung: not posted (the retry posts it).
  signal?.throwIfAborted();
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
    }),
    signal: requestSignal(deps.timeoutMs, signal),
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
    throw new WebhookDeliveryError(`${where} not delivered: ${connectionFailure(error)}`, {
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

/**
 * What a tenant's `lastError` says of a connection that failed: its kind, told by Node's error code
 * (libuv's `ECONNREFUSED`, getaddrinfo's `ENOTFOUND`, OpenSSL's verify codes, the abort of the timeout),
 * never the raw message, which can name the address a name resolved to, a certificate's subject or a
 * proxy of the platform's network. The error itself stays the delivery error's `cause` for operators.
 */
export function connectionFailure(error: unknown): string {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  const key = typeof code === 'string' ? code : typeof name === 'string' ? name : '';
  switch (key) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NODATA':
      return 'host name not found';
    case 'ETIMEDOUT':
    case 'ABORT_ERR':
    case 'AbortError':
    case 'TimeoutError':
      return 'timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
  }
  // Codes are identifiers (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`); anything else is left out.
  const shown = /^[A-Z][A-Z0-9_]{1,47}$/.test(key) ? ` (${key})` : '';
  if (/^(ERR_TLS|ERR_SSL|EPROTO$)|CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(key))
    return `TLS handshake failed${shown}`;
  return `network error${shown}`;
}

/** One POST; resolves with the status once the response has been read, never following a redirect (Web Push too). */
/**
 * An outgoing request's signal: aborted after `timeoutMs` (default 10 s, the network timeout) or with `attempt`
 * (the delivery attempt's deadline), whichever is first.
 */
export function requestSignal(timeoutMs = 10_000, attempt?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return attempt ? AbortSignal.any([timeout, attempt]) : timeout;
}

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
const DENIED_CIDRS = DENIED_AT_CONNECT.map((cidr) => ipaddr.parseCIDR(cidr));

/**
 * Refuses, after resolution, what ipaddr.js (the agent's classifier) calls unicast but `checkAddress`
 * refuses (`DENIED_AT_CONNECT`): one rule both times. Done here rather than in the agent's
 * `denyIPAddressList`, which request-filtering-agent 3.x matches against every resolved address and, for an
 * IPv4 one against an IPv6 range, answers with a console warning per connection ("Invalid CIDR").
 * The error's wording is the agent's, so callers tell a refusal the same way.
 */
function refusingDenied(lookup: LookupFunction): LookupFunction {
  const denied = (address: string): boolean => {
    if (!ipaddr.isValid(address)) return false;
    const parsed = ipaddr.parse(address);
    return DENIED_CIDRS.some((cidr) => parsed.kind() === cidr[0].kind() && parsed.match(cidr));
  };
  const refusal = (address: string, host: string) =>
    new Error(
      `DNS lookup ${address}(host:${host}) is not allowed. Because It is defined in denyIPAddressList.`,
    );
  return ((host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
    lookup(
      host,
      options as never,
      ((error: Error | null, address: unknown, family?: number) => {
        if (error) return callback(error);
        const all = Array.isArray(address)
          ? (address as { address: string }[]).map((a) => a.address)
          : [String(address)];
        const bad = all.find(denied);
        if (bad !== undefined) return callback(refusal(bad, host));
        return callback(null, address, family);
      }) as never,
    )) as LookupFunction;
}

/** A connection's options with its lookup (the request's, else the system resolver) refusing `DENIED_AT_CONNECT`. */
function withDeniedRefused(options: NetConnectOpts): never {
  const lookup = refusingDenied((options as { lookup?: LookupFunction }).lookup ?? dnsLookup);
  return { ...options, lookup } as never;
}

/** request-filtering-agent's agents with `DENIED_AT_CONNECT` applied to what every connection resolves. */
class GuardedHttpAgent extends RequestFilteringHttpAgent {
  override createConnection(
    options: NetConnectOpts,
    listener?: (error: Error | null, socket: Duplex) => void,
  ) {
    return super.createConnection(withDeniedRefused(options), listener as never);
  }
}
class GuardedHttpsAgent extends RequestFilteringHttpsAgent {
  override createConnection(
    options: NetConnectOpts,
    listener?: (error: Error | null, socket: Duplex) => void,
  ) {
    return super.createConnection(withDeniedRefused(options), listener as never);
  }
}

/**
 * An agent that connects only where `options` allow (private and meta addresses refused unless listed),
 * checked on the address each connection actually reaches, and never to `DENIED_AT_CONNECT`.
 */
export function guardedAgent(url: URL, options: Omit<RequestFilteringAgentOptions, 'denyIPAddressList'>) {
  return url.protocol === 'https:' ? new GuardedHttpsAgent(options) : new GuardedHttpAgent(options);
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

/**
 * A webhook message: signed and posted under the circuit of its tenant's endpoint (`webhookEndpointKey`: the
 * tenant incarnation's, so the next customer under an id never waits on its predecessor's open circuit); one
 * that is not, dropped. Never rejects: a failed read of the tenant is a failure not counted against the circuit.
 */
export async function webhookOutcome(
  deps: WebhookDeliveryDeps,
  body: string,
  attributes: Record<string, string>,
  underCircuit: UnderCircuit,
): Promise<DeliveryOutcome> {
  const tenantId = decodeWebhookMessage(body)?.tenantId;
  // Not a webhook message: nothing will ever deliver it.
  if (!tenantId) return { kind: 'delivered' };
  let tenant: Tenant | undefined;
  try {
    tenant = await deps.directory.get(tenantId);
  } catch (error) {
    return { kind: 'failed', error };
  }
  // No tenant (offboarded) or no webhook any more: nothing will ever deliver it.
  if (!tenant?.config.webhook) return { kind: 'delivered' };
  // The delivery reads the tenant again when its turn comes (it may wait for a slot): a URL or secret changed
  // meanwhile, or the webhook removed, is what it acts on.
  return underCircuit(webhookEndpointKey(tenant), (signal) =>
    traceWebhook(attributes, () => deliverWebhook(deps, body, signal)),
  );
}
