import { CloudWatchClient, type StateValue } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantAlarmNames } from '../../src/adapters/aws/naming.ts';
import { createCloudWatchReleaseAlarms } from '../../src/adapters/aws/release-alarms.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { putAlarm as putAlarmOn } from '../support/cloudwatch.ts';
import { MOTO_MISSING, type Moto, motoAvailable, startMoto } from '../support/moto.ts';
import { newTenantId } from '../support/server.ts';

// The upgrade's view of the tenant stacks' CloudWatch alarms (src/adapters/aws/release-alarms.ts), against
// moto's CloudWatch: alarms made as the tenant stack names them, put in a state with SetAlarmState.
const MODELS = ['finance', 'funds'];
const available = motoAvailable();
let moto: Moto;
let client: CloudWatchClient;

const putAlarm = (name: string, state: StateValue) => putAlarmOn(client, name, state);

describe.skipIf(!available)(`CloudWatch release alarms on moto ${available ? '' : MOTO_MISSING}`, () => {
  beforeAll(async () => {
    moto = await startMoto();
    client = new CloudWatchClient({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }, 60_000);
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });

  it("reports the tenants' alarms in ALARM, and nothing of alarms that are OK, missing, or another tenant's", async () => {
    const a1 = newTenantId('al') as TenantId;
    const a1x = `${a1}-x` as TenantId;
    const quiet = newTenantId('ok') as TenantId;
    const names = (t: TenantId) => tenantAlarmNames(t, MODELS);
    await putAlarm(names(a1).deadLetters.finance as string, 'ALARM');
    await putAlarm(names(a1).jobFailures, 'OK');
    await putAlarm(names(a1x).jobFailures, 'ALARM');
    await putAlarm(names(quiet).jobFailures, 'OK');
    await putAlarm(`silopool-tenant-${a1}-other`, 'ALARM');
    const alarms = createCloudWatchReleaseAlarms({ client, models: MODELS });

    expect(await alarms.firing([a1, quiet])).toEqual([
      { tenantId: a1, name: `silopool-tenant-${a1}/dead-letters/finance`, reason: 'set ALARM' },
    ]);
    expect((await alarms.firing([a1x])).map((a) => a.name)).toEqual([`silopool-tenant-${a1x}/job-failures`]);
    expect(await alarms.firing([quiet])).toEqual([]);
    // A tenant whose stack has no such alarms (made before them) has none firing.
    expect(await alarms.firing([newTenantId('none') as TenantId])).toEqual([]);

    await putAlarm(names(a1).deadLetters.finance as string, 'OK');
    expect(await alarms.firing([a1])).toEqual([]);
  });

  it('asks about more tenants than one DescribeAlarms call names (100 names)', async () => {
    const tenants = Array.from({ length: 40 }, (_, i) => newTenantId(`w${i}`) as TenantId);
    const last = tenants.at(-1) as TenantId;
    await putAlarm(tenantAlarmNames(tenants[0] as TenantId, MODELS).jobFailures, 'ALARM');
    await putAlarm(tenantAlarmNames(last, MODELS).deadLetters.funds as string, 'ALARM');
    const firing = await createCloudWatchReleaseAlarms({ client, models: MODELS }).firing(tenants);
    expect(firing.map((a) => a.tenantId).sort()).toEqual([tenants[0], last].sort());
  });
});
