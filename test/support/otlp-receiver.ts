import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real OTLP/HTTP receiver: every POST body to /v1/traces, as JSON (the exporter's default encoding). */
export function startOtlpReceiver(): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies }),
    ),
  );
}

/** The spans' names in received OTLP/JSON bodies, per trace id. */
export function spanNamesByTrace(bodies: readonly string[]): Map<string, Set<string>> {
  const byTrace = new Map<string, Set<string>>();
  for (const body of bodies) {
    const parsed = JSON.parse(body) as {
      resourceSpans: { scopeSpans: { spans: { traceId: string; name: string }[] }[] }[];
    };
    for (const rs of parsed.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          const names = byTrace.get(s.traceId) ?? new Set<string>();
          names.add(s.name);
          byTrace.set(s.traceId, names);
        }
  }
  return byTrace;
}
