import ipaddr from 'ipaddr.js';
import { ConfigError } from './errors.ts';
import { flagSettingOf } from './settings.ts';

/**
 * Where webhooks may point. The default refuses every address that is not public unicast and every
 * internal name; an operator widens it explicitly (plain http for development, named hosts or ranges).
 */
export interface WebhookTargetPolicy {
  /** Plain `http:` is accepted (development); otherwise only `https:`. */
  allowHttp: boolean;
  /** Host names allowed even though internal: exact (`hooks.corp`) or a suffix wildcard (`*.corp`). */
  allowNames: readonly string[];
  /** Address ranges allowed even though not public unicast, as normalised CIDR text (`127.0.0.1/32`). */
  allowRanges: readonly string[];
}

export const STRICT_WEBHOOK_POLICY: WebhookTargetPolicy = {
  allowHttp: false,
  allowNames: [],
  allowRanges: [],
};

/** What a refusal is about: the URL's form, its scheme, credentials in it, its address or its name. */
export type WebhookRefusalKind = 'url' | 'scheme' | 'credentials' | 'address' | 'name';

/** The URL with how it was allowed, or why it is refused ("host [::1] is a loopback address"). */
export type WebhookTargetCheck =
  | { ok: true; url: URL; allowlisted: 'name' | 'address' | false }
  | { ok: false; kind: WebhookRefusalKind; reason: string };

// Special-use and private-use names (RFC 6761, 6762, 8375; ICANN's `.internal`; names ICANN keeps out of
// the root because networks use them inside): they resolve to something inside, never to a tenant's site.
const INTERNAL_SUFFIXES = [
  'localhost',
  'local',
  'internal',
  'localdomain',
  'home.arpa',
  'arpa',
  'lan',
  'home',
  'corp',
  'intranet',
  'private',
  // RFC 6761 `.test` and `.invalid`, RFC 7686 `.onion`, RFC 9476 `.alt`: never public; service discovery
  // inside clusters (Kubernetes `*.svc`, Consul `*.consul`) resolves only inside.
  'test',
  'invalid',
  'onion',
  'alt',
  'svc',
  'consul',
];

// Ranges ipaddr.js calls unicast that must not be reached either: IPv4-compatible IPv6 (`::a.b.c.d`,
// deprecated by RFC 4291), which some stacks route to the embedded IPv4 address.
const EXTRA_REFUSED: Parameters<typeof ipaddr.subnetMatch>[1] = {
  ipv4Compatible: [ipaddr.IPv6.parse('::'), 96],
};

/**
 * Parses the operator's settings: `allowHttp` is a flag (`flagSettingOf`: `1`, `true`, `on`…); `allowHosts` lists host names (`*.corp`
 * for a suffix), addresses and CIDR ranges separated by commas or spaces.
 * @throws ConfigError naming the entry that is none of these, or an `allowHttp` neither on nor off.
 */
export function parseWebhookTargetPolicy(settings: {
  allowHttp?: string | undefined;
  allowHosts?: string | undefined;
}): WebhookTargetPolicy {
  const allowNames: string[] = [];
  const allowRanges: string[] = [];
  for (const entry of (settings.allowHosts ?? '').split(/[\s,]+/).filter(Boolean)) {
    const range = parseRange(entry);
    if (range) allowRanges.push(range);
    else if (isHostPattern(entry)) allowNames.push(entry.toLowerCase().replace(/\.$/, ''));
    else
      throw new ConfigError(
        'SILOPOOL_WEBHOOK_ALLOW_HOSTS',
        `SILOPOOL_WEBHOOK_ALLOW_HOSTS: "${entry}" is not a host name, an address or a CIDR range`,
      );
  }
  const allowHttp = flagSettingOf(
    { SILOPOOL_WEBHOOK_ALLOW_HTTP: settings.allowHttp },
    'SILOPOOL_WEBHOOK_ALLOW_HTTP',
  );
  return { allowHttp, allowNames, allowRanges };
}

/** Reads the policy from `SILOPOOL_WEBHOOK_ALLOW_HTTP` and `SILOPOOL_WEBHOOK_ALLOW_HOSTS`. */
export function webhookTargetPolicyFromEnv(env: Record<string, string | undefined>): WebhookTargetPolicy {
  return parseWebhookTargetPolicy({
    allowHttp: env.SILOPOOL_WEBHOOK_ALLOW_HTTP,
    allowHosts: env.SILOPOOL_WEBHOOK_ALLOW_HOSTS,
  });
}

/**
 * Decides whether a webhook may point at `text`. The host is read the way `fetch` will read it (WHATWG
 * URL, which turns `2130706433`, `0x7f.1`, `127.1` and fullwidth digits into `127.0.0.1`), then an
 * address must be public unicast per ipaddr.js and a name must not be internal, unless allowlisted.
 * Names are not resolved here: the delivery checks the address it actually connects to.
 */
export function checkWebhookUrl(text: string, policy: WebhookTargetPolicy): WebhookTargetCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, kind: 'url', reason: 'must be an absolute https URL' };
  }
  // Accepted, such a URL could never be delivered to (nothing listens on port 0).
  if (url.port === '0') return { ok: false, kind: 'url', reason: 'must not name port 0' };
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    return {
      ok: false,
      kind: 'scheme',
      reason: policy.allowHttp ? 'must be an http(s) URL' : 'must use https',
    };
  }
  if (url.username || url.password) {
    return {
      ok: false,
      kind: 'credentials',
      reason: 'must not carry credentials (user:pass@); authenticate with the signature',
    };
  }
  const address = literalAddress(url.hostname);
  if (address) {
    const refusal = checkAddress(address, policy);
    return refusal
      ? { ok: false, kind: 'address', reason: `host ${url.hostname} ${refusal}` }
      : allowed(url, address, policy);
  }
  const name = url.hostname.replace(/\.$/, '');
  if (nameAllowed(name, policy)) return { ok: true, url, allowlisted: 'name' };
  const refusal = checkName(name);
  return refusal
    ? { ok: false, kind: 'name', reason: `host ${url.hostname} ${refusal}` }
    : { ok: true, url, allowlisted: false };
}

/**
 * Classifies one address (any spelling ipaddr.js parses): undefined when it may be reached, else why
 * not ("is a loopback address"). Everything but public unicast is refused unless in an allowed range.
 */
export function checkAddress(
  address: string | ipaddr.IPv4 | ipaddr.IPv6,
  policy: WebhookTargetPolicy,
): string | undefined {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = typeof address === 'string' ? ipaddr.parse(address) : address;
  } catch {
    return 'is not an IP address';
  }
  if (inAllowedRange(parsed, policy)) return undefined;
  const range = ipaddr.subnetMatch(parsed, EXTRA_REFUSED, parsed.range());
  return range === 'unicast' ? undefined : `is ${describeRange(range)} address`;
}

function allowed(
  url: URL,
  address: ipaddr.IPv4 | ipaddr.IPv6,
  policy: WebhookTargetPolicy,
): WebhookTargetCheck {
  return { ok: true, url, allowlisted: inAllowedRange(address, policy) ? 'address' : false };
}

/** The host as an address when it is one; WHATWG URL has already written IPv4 as a dotted quad. */
function literalAddress(hostname: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (hostname.startsWith('[')) return ipaddr.IPv6.parse(hostname.slice(1, -1));
  if (ipaddr.IPv4.isValidFourPartDecimal(hostname)) return ipaddr.IPv4.parse(hostname);
  return undefined;
}

function checkName(name: string): string | undefined {
  const labels = name.split('.');
  // RFC 1035 §2.3.4: labels of at most 63 octets, names of at most 253 characters.
  if (labels.some((label) => label === '' || label.length > 63) || name.length > 253) {
    return 'is not a valid host name';
  }
  const internal = INTERNAL_SUFFIXES.find((suffix) => name === suffix || name.endsWith(`.${suffix}`));
  if (internal) return `is an internal name (.${internal})`;
  // One label (`metadata`, `instance-data`, `kubernetes`) is completed by the resolver's search domains.
  return name.includes('.') ? undefined : 'is not a fully qualified public host name';
}

function nameAllowed(name: string, policy: WebhookTargetPolicy): boolean {
  return policy.allowNames.some((allowedName) =>
    allowedName.startsWith('*.') ? name.endsWith(allowedName.slice(1)) : name === allowedName,
  );
}

function inAllowedRange(address: ipaddr.IPv4 | ipaddr.IPv6, policy: WebhookTargetPolicy): boolean {
  return policy.allowRanges.some((text) => {
    const range = ipaddr.parseCIDR(text);
    return range[0].kind() === address.kind() && address.match(range);
  });
}

/** An address or CIDR range in its normalised form, or undefined when `entry` is neither. */
function parseRange(entry: string): string | undefined {
  const bare = entry.replace(/^\[(.*)\]$/, '$1');
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return `${ipaddr.IPv4.parse(bare).toString()}/32`;
  if (ipaddr.IPv6.isValid(bare)) return `${ipaddr.IPv6.parse(bare).toRFC5952String()}/128`;
  if (ipaddr.IPv4.isValidCIDRFourPartDecimal(entry) || ipaddr.IPv6.isValidCIDR(entry)) {
    const [address, prefix] = ipaddr.parseCIDR(entry);
    const text = address.kind() === 'ipv6' ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
    return `${text}/${prefix}`;
  }
  return undefined;
}

/** A DNS host name (or `*.suffix`) that WHATWG URL leaves as it is, so it cannot hide an address. */
function isHostPattern(entry: string): boolean {
  const name = entry.replace(/^\*\./, '');
  if (!/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?\.?$/i.test(name)) return false;
  try {
    const url = new URL(`http://${name}/`);
    return url.hostname === name.toLowerCase() && !literalAddress(url.hostname);
  } catch {
    return false;
  }
}

function describeRange(range: string): string {
  const words: Record<string, string> = {
    unspecified: 'an unspecified',
    loopback: 'a loopback',
    private: 'a private',
    linkLocal: 'a link-local',
    uniqueLocal: 'a unique-local',
    ipv4Mapped: 'an IPv4-mapped IPv6',
    ipv4Compatible: 'an IPv4-compatible IPv6',
    carrierGradeNat: 'a carrier-grade NAT',
    multicast: 'a multicast',
    broadcast: 'a broadcast',
    reserved: 'a reserved or documentation',
  };
  return words[range] ?? `a special-purpose (${range})`;
}
