import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactsOf, createReleaseInfrastructure } from '../../src/adapters/aws/release-infrastructure.ts';
import { createTenantRegions } from '../../src/adapters/aws/tenant-regions.ts';
import { RegionError } from '../../src/core/errors.ts';
import { parseTenantId, type TenantId } from '../../src/core/ids.ts';
import { awsRegion } from '../../src/core/region.ts';
import { emptyConfig, type Tenant } from '../../src/core/tenant.ts';
import { type AwsPorts, createAwsPorts } from '../../src/entry/aws-wiring.ts';
import type { TenantInfrastructure } from '../../src/ports/tenant-infrastructure.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId } from '../support/server.ts';

/**
 * A tenant's record names its contract Region, and the AWS adapters build SDK clients, bucket names, queue
 * URLs and stacks for it. A record changed behind the API (or written by a bug) must not steer them: every
 * Region string passes `awsRegion` (an AWS Region name, one of the platform's), refused with a typed error
 * before any client is built or any request sent.
 */
const CRAFTED = [
  'us-east-1.evil.example',
  'evil.example/us-east-1',
  '../',
  '../../eu-west-1',
  '',
  'US-EAST-1',
  'Eu-West-1',
  'local',
  'us-east-1\n',
  ' us-east-1',
  'us-east-1#',
  'us-east-1:443',
  'eu-west-1@attacker.example',
];
const CONTRACT = 'eu-west-1';
const OUTSIDE = 'ap-south-1';

function expectRefused(run: () => unknown, code: string) {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'refused').toBeInstanceOf(RegionError);
  expect(thrown).toMatchObject({ code, status: 422 });
}

describe('awsRegion', () => {
  it('refuses anything that is no AWS Region name, and Regions the platform is not configured for', () => {
    for (const value of CRAFTED) expectRefused(() => awsRegion(value, 'any'), 'region_invalid');
    for (const value of [undefined, null, 42, ['us-east-1'], { toString: () => 'us-east-1' }])
      expectRefused(() => awsRegion(value, 'any'), 'region_invalid');
    expectRefused(() => awsRegion(OUTSIDE, ['us-east-1', CONTRACT]), 'region_unavailable');
    expect(awsRegion(CONTRACT, ['us-east-1', CONTRACT])).toBe(CONTRACT);
    expect(awsRegion('us-gov-west-1', 'any')).toBe('us-gov-west-1');
  });

  it('a tenant whose record names a refused Region has no Region at all; the others keep theirs', async () => {
    const [bad, outside, good] = [newTenantId('bad'), newTenantId('out'), newTenantId('ok')] as TenantId[];
    const regions = createTenantRegions('us-east-1', [CONTRACT]);
    regions.note({ id: good!, region: CONTRACT });
    regions.note({ id: outside!, region: OUTSIDE });
    expectRefused(() => regions.of(outside!), 'region_unavailable');
    for (const region of CRAFTED) {
      regions.note({ id: bad!, region });
      if (region === 'us-east-1') continue;
      expectRefused(() => regions.of(bad!), 'region_invalid');
      await expect(regions.resolve(bad!)).rejects.toBeInstanceOf(RegionError);
    }
    expect(regions.of(good!)).toBe(CONTRACT);
    expect(regions.all().sort()).toEqual([CONTRACT, 'us-east-1']);
    expectRefused(() => regions.check('us-east-1.evil.example'), 'region_invalid');
    // A record corrected later is honoured again.
    regions.note({ id: bad!, region: CONTRACT });
    expect(regions.of(bad!)).toBe(CONTRACT);
  });
});

function tenantRecord(region: string, placement: Tenant['placement'] = 'dedicated'): Tenant {
  const now = new Date().toISOString();
  return {
    id: parseTenantId(newTenantId('geo')),
    name: 'Geo',
    status: 'active',
    placement,
    plan: 'enterprise',
    config: emptyConfig(),
    apiKeys: [],
    createdAt: now,
    updatedAt: now,
    version: 1,
    region,
  };
}

describe('the AWS wiring, with a crafted Region stored in the tenant directory', () => {
  let emulators: AwsEmulators;
  let recorder: Server;
  const requests: string[] = [];
  let env: Record<string, string>;
  let writer: AwsPorts;

  beforeAll(async () => {
    emulators = await startAwsEmulators();
    // SQS and S3 go to a recorder: any request there means a client was built for the crafted Region.
    recorder = createServer((req, res) => {
      requests.push(`${req.method} ${req.headers.host}${req.url}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    env = {
      ...(await emulators.platformEnv()),
      AWS_ENDPOINT_URL_SQS: at,
      AWS_ENDPOINT_URL_S3: at,
      SILOPOOL_CONTRACT_REGIONS: CONTRACT,
      SILOPOOL_PROVISIONING: 'verify',
    };
    // The SDK reads credentials from the process environment, as a Lambda does.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    writer = createAwsPorts(env);
  });

  afterAll(async () => {
    await writer?.close();
    await new Promise<void>((resolve) => recorder?.close(() => resolve()));
    await emulators?.stop();
  });

  it('refuses the tenant before any store, queue or S3 client is built for it', async () => {
    for (const region of [...CRAFTED.filter((r) => r !== ''), OUTSIDE]) {
      const record = tenantRecord(region);
      await writer.directory.create(record);
      // Another process reads the stored record, as a function or the API does.
      const reader = createAwsPorts(env);
      try {
        const read = await reader.directory.get(record.id);
        expect(read?.region).toBe(region);
        const code = region === OUTSIDE ? 'region_unavailable' : 'region_invalid';
        const ref = { kind: 'dedicated', tenantId: record.id } as const;
        expectRefused(() => reader.stores.jobs(ref), code);
        expectRefused(() => reader.stores.objects(ref), code);
        await expect(reader.stores.provision(ref)).rejects.toMatchObject({ code });
        await expect(reader.queue.depth(`tenant_${record.id}_finance`)).rejects.toMatchObject({ code });
        await expect(reader.queue.send(`tenant_${record.id}_finance`, { body: '{}' })).rejects.toMatchObject({
          code,
        });
        expectRefused(() => reader.s3In(region), code);
      } finally {
        await reader.close();
      }
    }
    expect(requests).toEqual([]);
  });
});

describe('tenant stacks, with a crafted Region stored in the tenant record', () => {
  it('neither deploys nor removes a stack there: no stack infrastructure is made for it', async () => {
    const made: string[] = [];
    const stored = new Map<string, string>();
    const infrastructure = createReleaseInfrastructure({
      regions: { region: 'us-east-1', dedicatedRegions: ['us-east-1', CONTRACT] },
      artifacts: (release, region) => ({
        templateUrl: `https://t.example/${release}/${region}`,
        code: { bucket: 'code', key: `${release}.zip` },
      }),
      create: (region): TenantInfrastructure => {
        made.push(region);
        return { speed: 'slow', deploy: async () => 'deployed', remove: async () => 'removed' };
      },
      releaseOf: async () => 'builtin',
      regionOf: async (id) => stored.get(id),
    });
    for (const region of CRAFTED.filter((r) => r !== '')) {
      const record = tenantRecord(region);
      stored.set(record.id, region);
      await expect(infrastructure.deploy(record)).rejects.toBeInstanceOf(RegionError);
      await expect(infrastructure.remove(record.id)).rejects.toBeInstanceOf(RegionError);
    }
    expect(made).toEqual([]);
    await infrastructure.deploy(tenantRecord(CONTRACT));
    expect(made).toEqual([CONTRACT]);
  });
});

describe('tenant stacks, with a crafted release id stored in the tenant record', () => {
  it('build no template URL or code key from it: no stack infrastructure is made for it', async () => {
    const made: string[] = [];
    const base = {
      templateUrl: 'https://templates.s3.amazonaws.com/platform/tenant-template.json',
      code: { bucket: 'code', key: 'platform/functions.zip' },
    };
    let release = '';
    const infrastructure = createReleaseInfrastructure({
      regions: { region: 'us-east-1', dedicatedRegions: ['us-east-1', CONTRACT] },
      artifacts: artifactsOf(base, 'us-east-1'),
      create: (region, artifacts): TenantInfrastructure => {
        made.push(`${region} ${artifacts.templateUrl}`);
        return { speed: 'slow', deploy: async () => 'deployed', remove: async () => 'removed' };
      },
      releaseOf: async () => release,
      regionOf: async () => undefined,
    });
    for (const crafted of ['../../evil', 'r1/../../x', 'R1', '', '.hidden', 'r1?x=1', 'r1#']) {
      release = crafted;
      await expect(infrastructure.deploy(tenantRecord(CONTRACT))).rejects.toMatchObject({
        code: 'validation_failed',
      });
    }
    expect(made).toEqual([]);
    release = 'r1.2';
    await infrastructure.deploy(tenantRecord(CONTRACT));
    expect(made).toEqual([
      `${CONTRACT} https://templates.s3.amazonaws.com/platform/releases/r1.2/tenant-template.json`,
    ]);
  });
});
