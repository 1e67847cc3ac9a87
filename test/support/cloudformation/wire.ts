// The awsQuery wire format on a local HTTP server: form-encoded requests in, XML results and errors out.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationError, errorText } from './errors.ts';
import { isRecord } from './values.ts';

const XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

/** One API action: the request's form in, the `<ActionResult>` content out (rendered by `xml`). */
export type Action = (form: URLSearchParams) => Promise<unknown>;

export interface Call {
  action: string;
  stackName?: string;
}

function xml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => `<member>${xml(item)}</member>`).join('');
  if (value instanceof Date) return value.toISOString();
  if (isRecord(value)) {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${xml(v)}</${k}>`)
      .join('');
  }
  return String(value).replace(
    /[&<>"'\r]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' })[c] ?? c,
  );
}

/** `Prefix.member.N[.Field]` entries of a form, as one record per member ('' holds a scalar member). */
export function members(form: URLSearchParams, prefix: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (let i = 1; ; i++) {
    const base = `${prefix}.member.${i}`;
    const entry: Record<string, string> = {};
    let found = false;
    for (const [key, value] of form) {
      if (key === base) entry[''] = value;
      else if (key.startsWith(`${base}.`)) entry[key.slice(base.length + 1)] = value;
      else continue;
      found = true;
    }
    if (!found) return out;
    out.push(entry);
  }
}

/** Whether the form sends the list at all (an empty list clears it, a missing one keeps it). */
export function hasList(form: URLSearchParams, prefix: string): boolean {
  return form.has(prefix) || [...form.keys()].some((key) => key.startsWith(`${prefix}.`));
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  actions: Record<string, Action>,
  onCall: (call: Call) => void,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  const action = form.get('Action') ?? '';
  onCall({ action, stackName: form.get('StackName') ?? undefined });
  const requestId = randomUUID();
  let status = 200;
  let body: string;
  try {
    const run = actions[action];
    if (!run)
      throw new CloudFormationError(
        'InvalidAction',
        `The action ${action} is not valid for this web service.`,
      );
    const result = await run(form);
    body =
      `<${action}Response xmlns="${XMLNS}"><${action}Result>${xml(result)}</${action}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  } catch (error) {
    const failure =
      error instanceof CloudFormationError
        ? error
        : new CloudFormationError('InternalFailure', errorText(error), 500);
    status = failure.status;
    body =
      `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
      `<Code>${xml(failure.code)}</Code><Message>${xml(failure.message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`;
  }
  response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
  response.end(body);
}

/** Serves `actions` on 127.0.0.1 at a free port; `onCall` sees every request before it runs. */
export async function serveAwsQuery(
  actions: Record<string, Action>,
  onCall: (call: Call) => void,
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    handle(request, response, actions, onCall).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
