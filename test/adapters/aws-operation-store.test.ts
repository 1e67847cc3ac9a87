import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDynamoOperationStore,
  OPERATION_RETENTION_DAYS,
} from '../../src/adapters/aws/operation-store.ts';
import { parseTenantId, type TenantId } from '../../src/core/ids.ts';
import type { Operation, OperationStore } from '../../src/ports/operation-store.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { MOTO_MISSING, motoAvailable } from '../support/moto.ts';
import { newTenantId } from '../support/server.ts';

// The operations log in the control-plane table, on moto's DynamoDB (its global secondary indexes are
// updated with each write, as the control plane's reads rely on once they catch up).
let aws: AwsEmulators;
let table: string;
let store: OperationStore;

function operation(tenantId: TenantId, patch: Partial<Operation> = {}): Operation {
  const now = new Date().toISOString();
  return {
    id: `op-${Math.random().toString(36).slice(2, 10)}`,
    kind: 'move',
    tenantId,
    status: 'running',
    progress: 0,
    steps: [],
    params: { from: 'shared', to: 'dedicated' },
    createdAt: now,
    updatedAt: now,
    version: 0,
    ...patch,
  };
}

describe.skipIf(!motoAvailable())(
  `createDynamoOperationStore (moto) ${motoAvailable() ? '' : MOTO_MISSING}`,
  () => {
    beforeAll(async () => {
      aws = await startAwsEmulators({ backend: 'moto' });
      table = await aws.createTable('tenants');
      store = createDynamoOperationStore({ client: aws.dynamo, tableName: table });
    }, 60_000);
    afterAll(() => aws?.stop());

    it('keeps each operation in a partition of its own, never one partition of them all', async () => {
      const tenant = parseTenantId(newTenantId('ops'));
      const ops = [operation(tenant), operation(tenant), operation(tenant)];
      for (const op of ops) await store.create(op);
      const items = (await aws.dynamo.send(new ScanCommand({ TableName: table }))).Items ?? [];
      const mine = items.filter((item) => ops.some((op) => item.pk === `OP#${op.id}`));
      expect(new Set(mine.map((item) => item.pk)).size).toBe(3);
    });

    it('lists running operations from the running index only, and a finished one expires by TTL', async () => {
      const tenant = parseTenantId(newTenantId('ops'));
      const running = operation(tenant);
      const done = operation(tenant);
      await store.create(running);
      await store.create(done);
      const finished = await store.update({ ...done, status: 'succeeded', progress: 1 }, 0);
      const ids = (await store.listRunning()).map((op) => op.id);
      expect(ids).toContain(running.id);
      expect(ids).not.toContain(done.id);
      const items = (await aws.dynamo.send(new ScanCommand({ TableName: table }))).Items ?? [];
      const stored = items.find((item) => item.pk === `OP#${done.id}`);
      expect(stored?.opRunning).toBeUndefined();
      expect(stored?.expiresAt).toBe(
        Math.floor(Date.parse(finished.updatedAt) / 1000) + OPERATION_RETENTION_DAYS * 86_400,
      );
      expect(items.find((item) => item.pk === `OP#${running.id}`)?.expiresAt).toBeUndefined();
    });

    it('lists and deletes by tenant without touching tenant a1-x when asked for a1', async () => {
      const a1 = parseTenantId(newTenantId('a1'));
      const a1x = parseTenantId(`${a1}-x`);
      const [mine, kept, theirs] = [operation(a1), operation(a1), operation(a1x)];
      for (const op of [mine, kept, theirs]) await store.create(op);
      expect((await store.listByTenant(a1)).map((op) => op.id).sort()).toEqual([mine.id, kept.id].sort());
      await store.deleteByTenant(a1, kept.id);
      expect((await store.listByTenant(a1)).map((op) => op.id)).toEqual([kept.id]);
      expect((await store.listByTenant(a1x)).map((op) => op.id)).toEqual([theirs.id]);
      expect(await store.get(mine.id)).toBeUndefined();
    });

    it('updates with compare-and-set on the version', async () => {
      const op = operation(parseTenantId(newTenantId('ops')));
      await store.create(op);
      const next = await store.update({ ...op, progress: 0.5 }, 0);
      expect(next.version).toBe(1);
      await expect(store.update({ ...op, progress: 0.7 }, 0)).rejects.toThrow(/changed since version 0/);
      expect((await store.get(op.id))?.progress).toBe(0.5);
    });
  },
);
