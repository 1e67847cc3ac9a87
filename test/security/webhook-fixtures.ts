import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Internal targets in the spellings an attacker tries, each with what it must be refused as. Every IPv4
 * spelling here is one WHATWG URL (and so `fetch` and the delivery) reads as the address in the comment.
 */
export const INTERNAL_TARGETS: [url: string, kind: 'address' | 'name'][] = [
  ['https://127.0.0.1/', 'address'],
  ['https://2130706433/', 'address'], // 127.0.0.1 as one decimal number
  ['https://0x7f.1/', 'address'], // hex, two parts
  ['https://0177.0.0.1/', 'address'], // octal first part
  ['https://127.1/', 'address'],
  ['https://0x7f000001/', 'address'],
  ['https://017700000001/', 'address'],
  ['https://127.0.0.1./', 'address'], // trailing dot
  ['https://%31%32%37.0.0.1/', 'address'], // percent-encoded host
  ['https://１２７.０.０.１/', 'address'], // fullwidth digits, mapped by IDNA
  ['https://127.255.255.254:8443/', 'address'],
  ['https://[::1]/', 'address'],
  ['https://[0:0:0:0:0:0:0:1]/', 'address'],
  ['https://[::ffff:127.0.0.1]/', 'address'], // IPv4-mapped loopback
  ['https://[::ffff:7f00:1]/', 'address'],
  ['https://[::ffff:169.254.169.254]/', 'address'], // IPv4-mapped cloud metadata
  ['https://[::127.0.0.1]/', 'address'], // IPv4-compatible (deprecated)
  ['https://169.254.169.254/latest/meta-data/', 'address'],
  ['https://169.254.43518/', 'address'], // 169.254.169.254, three parts
  ['https://0xa9fea9fe/', 'address'], // 169.254.169.254 in hex
  ['https://[fe80::1]/', 'address'],
  ['https://10.0.0.1/', 'address'],
  ['https://10.1/', 'address'], // 10.0.0.1
  ['https://172.16.0.1/', 'address'],
  ['https://172.31.255.255/', 'address'],
  ['https://192.168.0.1/', 'address'],
  ['https://0300.0250.0.1/', 'address'], // 192.168.0.1 in octal
  ['https://100.64.0.1/', 'address'], // carrier-grade NAT
  ['https://0.0.0.0/', 'address'],
  ['https://0/', 'address'], // 0.0.0.0
  ['https://[::]/', 'address'],
  ['https://255.255.255.255/', 'address'],
  ['https://224.0.0.1/', 'address'],
  ['https://[ff02::1]/', 'address'],
  ['https://[fd00::1]/', 'address'],
  ['https://[fc00::1]/', 'address'],
  ['https://[fec0::1]/', 'address'], // site-local (deprecated)
  ['https://192.0.2.1/', 'address'], // documentation (TEST-NET-1)
  ['https://198.51.100.7/', 'address'],
  ['https://203.0.113.9/', 'address'],
  ['https://[2001:db8::1]/', 'address'],
  ['https://240.0.0.1/', 'address'], // reserved
  ['https://198.18.0.1/', 'address'], // benchmarking
  ['https://[64:ff9b::a9fe:a9fe]/', 'address'], // NAT64 of the metadata address
  ['https://[2002:a9fe:a9fe::1]/', 'address'], // 6to4 of it
  ['https://localhost/', 'name'],
  ['https://LOCALHOST./', 'name'],
  ['https://ⓛocalhost/', 'name'], // mapped to `localhost` by IDNA
  ['https://api.localhost/', 'name'],
  ['https://metadata.google.internal/computeMetadata/v1/', 'name'],
  ['https://vault.internal/', 'name'],
  ['https://printer.local/', 'name'],
  ['https://router.home.arpa/', 'name'],
  ['https://metadata/', 'name'], // one label: completed by search domains
  ['https://instance-data/', 'name'],
  ['https://kubernetes/', 'name'],
  ['https://a..b.example/', 'name'],
  // found attacking the fix: special-use and cluster-internal names, over-long labels and names
  ['https://kubernetes.default.svc/', 'name'],
  ['https://vault.service.consul/', 'name'],
  ['https://hooks.test/', 'name'],
  ['https://hooks.example.invalid/', 'name'],
  ['https://abcdefghijklmnop.onion/', 'name'],
  ['https://hooks.alt/', 'name'],
  [`https://${'a'.repeat(64)}.example.com/`, 'name'],
  [`https://${'abcdefghi.'.repeat(26)}com/`, 'name'],
];

/** Refused whatever the host, with the rule the problem names. */
export const MALFORMED_TARGETS: [url: string, rule: string][] = [
  ['https://user:pass@hooks.example.com/', 'webhook_credentials'],
  ['https://user@hooks.example.com/', 'webhook_credentials'],
  ['https://:secret@hooks.example.com/', 'webhook_credentials'],
  ['https://hooks.example.com:443@127.0.0.1/', 'webhook_credentials'],
  ['http://hooks.example.com/', 'webhook_scheme'],
  ['ftp://hooks.example.com/', 'webhook_scheme'],
  ['file:///etc/passwd', 'webhook_scheme'],
  ['gopher://127.0.0.1:6379/_FLUSHALL', 'webhook_scheme'],
  ['javascript:alert(1)', 'webhook_scheme'],
  ['data:text/plain,hi', 'webhook_scheme'],
  ['/relative/path', 'webhook_url'],
  ['https://hooks.example.com:0/', 'webhook_url'],
  ['https://hooks.example.com:00/', 'webhook_url'],
  ['not a url', 'webhook_url'],
];

/** Public targets that must stay accepted. */
export const PUBLIC_TARGETS = [
  'https://hooks.example.com/silopool',
  'https://hooks.example.com:8443/a?b=c',
  'https://93.184.215.14/',
  'https://[2606:4700:4700::1111]/hook',
  'https://example.com#@127.0.0.1/', // the host is example.com; the rest is a fragment
  'https://xn--bcher-kva.example/', // an IDN in punycode
];

export interface Receiver {
  url: string;
  requests: { headers: IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** A real HTTP receiver on 127.0.0.1 that records every request and answers with `answer`. */
export async function startReceiver(
  answer: (res: ServerResponse) => void = (res) => res.writeHead(204).end(),
) {
  const requests: Receiver['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Waits until `done()` holds, or throws after `timeoutMs`. */
export async function eventually(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
