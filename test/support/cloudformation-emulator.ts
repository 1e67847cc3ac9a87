// An in-process CloudFormation (awsQuery over HTTP) that creates a template's SQS queues, DynamoDB tables and
// S3 buckets on the fauxqs/dynalite emulators. This file wires the parts in ./cloudformation/ together.
// moto's CloudFormation is the faithful one (creating, updating and deleting tenant stacks, dashboards, the
// upgrade in waves: *-moto.test.ts); this one stays only for what moto cannot do:
// - fail a chosen resource, so a create or an update rolls back (`failNext`: UPDATE_ROLLBACK_COMPLETE that
//   still serves, a promotion rolled back with CloudFormation's reason),
// - hold an operation in progress (`delayMs`), so a deploy can be stopped mid-create and resumed,
// - count the calls made (`calls`: no second CreateStack after a resume, none before a quota refusal),
// - the server-level stack tests of test/api/aws-stacks.test.ts, whose whole server runs on fauxqs/dynalite
//   (settings updates and offboarding as operations, the CLI following one); moto runs its own server-level
//   ones (test/api/aws-stacks-moto.test.ts, test/releases/upgrade-aws-moto.test.ts).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { stackActions } from './cloudformation/actions.ts';
import { createStackLifecycle } from './cloudformation/lifecycle.ts';
import { resourceHandlers } from './cloudformation/resources.ts';
import { createStackRegistry } from './cloudformation/stacks.ts';
import { serveAwsQuery } from './cloudformation/wire.ts';

export interface CloudFormationEmulatorOptions {
  sqs: SQSClient;
  s3: S3Client;
  dynamo: DynamoDBClient | DynamoDBDocumentClient;
  /** Default '000000000000', the account fauxqs puts in its queue ARNs. */
  account?: string;
  /** Default 'us-east-1'. */
  region?: string;
  /** Delay before a stack operation starts working, so callers really see *_IN_PROGRESS (default 20 ms). */
  delayMs?: number;
}

export interface EmulatedStack {
  name: string;
  id: string;
  status: string;
  statusReason?: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  roleArn?: string;
  capabilities: string[];
  resources: Record<string, { type: string; physicalId: string }>;
}

export interface CloudFormationEmulator {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** The current (not deleted) stack of that name. */
  stack(name: string): EmulatedStack | undefined;
  /** Every API call received, in order: `{ action, stackName }` (so tests can count CreateStack calls). */
  calls: { action: string; stackName?: string }[];
  /** The next create/update of this stack fails at resource `logicalId` with `reason` (tests rollback paths). */
  failNext(stackName: string, logicalId: string, reason: string): void;
  close(): Promise<void>;
}

export async function startCloudFormationEmulator(
  options: CloudFormationEmulatorOptions,
): Promise<CloudFormationEmulator> {
  const registry = createStackRegistry(options.region ?? 'us-east-1', options.account ?? '000000000000');
  const lifecycle = createStackLifecycle({
    registry,
    handlerFor: resourceHandlers(options),
    delayMs: options.delayMs ?? 20,
  });
  const calls: { action: string; stackName?: string }[] = [];
  const server = await serveAwsQuery(stackActions({ registry, lifecycle, s3: options.s3 }), (call) =>
    calls.push(call),
  );

  return {
    endpoint: server.endpoint,
    calls,
    stack(name) {
      const stack = registry.live(name);
      if (!stack) return undefined;
      return {
        name: stack.name,
        id: stack.id,
        status: stack.status,
        statusReason: stack.statusReason,
        parameters: { ...stack.parameters },
        tags: { ...stack.tags },
        roleArn: stack.roleArn,
        capabilities: [...stack.capabilities],
        resources: Object.fromEntries(
          [...stack.resources].map(([id, r]) => [id, { type: r.type, physicalId: r.physicalId }]),
        ),
      };
    },
    failNext(stackName, logicalId, reason) {
      lifecycle.failNext(stackName, logicalId, reason);
    },
    async close() {
      // Let running stack operations finish: they talk to emulators the caller is about to stop.
      await Promise.all(registry.all.map((s) => s.work));
      await server.close();
    },
  };
}
