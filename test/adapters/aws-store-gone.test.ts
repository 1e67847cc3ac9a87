import { describe, expect, it } from 'vitest';
import { createAwsStoreProvider } from '../../src/adapters/aws/index.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { awsContractFixture } from '../contract/aws-adapters.ts';

// DynamoDB on dynalite, S3 on fauxqs: a dedicated tenant's table and bucket really deleted.
const fixture = awsContractFixture('inProcess');

describe('AWS stores of a dedicated tenant that are gone', () => {
  it('answer store_not_found (503) through stores held from before, never a raw SDK error (a 500)', async () => {
    const { aws, tables, bucket } = fixture();
    const stores = createAwsStoreProvider({
      dynamo: aws.dynamo,
      s3: aws.s3,
      sharedTable: tables.jobs,
      sharedBucket: bucket,
      account: '000000000000',
      region: 'us-east-1',
      provisioning: 'create',
    });
    const tenantId = parseTenantId(`gone${Math.random().toString(36).slice(2, 8)}`);
    const ref = { kind: 'dedicated', tenantId } as const;
    await stores.provision(ref);
    const jobs = stores.jobs(ref).forTenant(tenantId);
    const objects = stores.objects(ref);
    await objects.put(
      `tenants/${tenantId}/jobs/j1/workbook.xlsx`,
      new Uint8Array([1, 2, 3]),
      'application/octet-stream',
    );
    expect(await jobs.get('job_1' as never)).toBeUndefined();

    await stores.destroy(ref);

    const gone = { code: 'store_not_found', status: 503 };
    await expect(jobs.get('job_1' as never)).rejects.toMatchObject(gone);
    await expect(jobs.list({ limit: 10 } as never)).rejects.toMatchObject(gone);
    await expect(objects.get(`tenants/${tenantId}/jobs/j1/workbook.xlsx`)).rejects.toMatchObject(gone);
    await expect(objects.list(`tenants/${tenantId}/`)).rejects.toMatchObject(gone);
    await expect(
      objects.put(
        `tenants/${tenantId}/jobs/j2/workbook.xlsx`,
        new Uint8Array([4]),
        'application/octet-stream',
      ),
    ).rejects.toMatchObject(gone);
    // Stores asked for after the removal say the same.
    await expect(
      stores
        .jobs(ref)
        .forTenant(tenantId)
        .get('job_1' as never),
    ).rejects.toMatchObject(gone);
  }, 60_000);
});
