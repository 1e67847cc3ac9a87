import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsAccountQuotas } from '../../src/adapters/aws/account-quotas.ts';

// Neither moto nor the in-process CloudFormation emulator answers Lambda GetAccountSettings or CloudFormation
// DescribeAccountLimits, so this server answers both in the documented wire formats (Lambda: REST-JSON,
// CloudFormation: awsQuery XML, ListStacks paginated) and records what the adapter sent.
let server: Server;
let endpoint: string;
const seen: { path: string; authorization: string; body: string }[] = [];

const xml = (action: string, result: string) =>
  `<${action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></${action}Response>`;
const summaries = (names: string[]) =>
  `<StackSummaries>${names.map((n) => `<member><StackName>${n}</StackName><StackId>id-${n}</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime></member>`).join('')}</StackSummaries>`;

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await bodyOf(req);
    seen.push({ path: req.url ?? '', authorization: String(req.headers.authorization ?? ''), body });
    if (req.method === 'GET' && req.url?.startsWith('/2016-08-19/account-settings')) {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 873 } }),
      );
      return;
    }
    const form = new URLSearchParams(body);
    res.setHeader('content-type', 'text/xml');
    if (form.get('Action') === 'DescribeAccountLimits') {
      res.end(
        xml(
          'DescribeAccountLimits',
          '<AccountLimits><member><Name>StackLimit</Name><Value>2000</Value></member></AccountLimits>',
        ),
      );
    } else if (form.get('Action') === 'ListStacks') {
      // Two pages: the adapter must follow NextToken.
      res.end(
        form.get('NextToken')
          ? xml('ListStacks', summaries(['c']))
          : xml('ListStacks', `${summaries(['a', 'b'])}<NextToken>page2</NextToken>`),
      );
    } else {
      res.statusCode = 400;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('createAwsAccountQuotas', () => {
  it('reads unreserved concurrency with a signed Lambda GetAccountSettings (the SDK client), the stack limit, and counts stacks over pages', async () => {
    const cloudFormation = new CloudFormationClient({
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    const quotas = createAwsAccountQuotas({ cloudFormation, region: 'eu-west-1', lambdaEndpoint: endpoint });
    expect(await quotas.read()).toEqual({ unreservedConcurrency: 873, stacks: 3, stackLimit: 2000 });
    const lambda = seen.find((s) => s.path.startsWith('/2016-08-19/account-settings'));
    expect(lambda?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    // Deleted stacks do not count: every status but DELETE_COMPLETE is asked for.
    const list = new URLSearchParams(seen.find((s) => s.body.includes('Action=ListStacks'))?.body);
    const statuses = [...list.entries()].filter(([k]) => k.startsWith('StackStatusFilter')).map(([, v]) => v);
    expect(statuses).toContain('UPDATE_ROLLBACK_COMPLETE');
    expect(statuses).not.toContain('DELETE_COMPLETE');
    cloudFormation.destroy();
  });
});
