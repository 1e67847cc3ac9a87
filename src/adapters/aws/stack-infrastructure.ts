import {
  type CloudFormationClient,
  CreateStackCommand,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ListStacksCommand,
  type Stack,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { ValidationError } from '../../core/errors.ts';
import type { TenantId } from '../../core/ids.ts';
import { laneForPlacement } from '../../core/placement.ts';
import { AWS_MIN_RESERVED_CONCURRENCY, functionSettingsFor, type Tenant } from '../../core/tenant.ts';
import type { StoreProvider } from '../../ports/stores.ts';
import {
  type InfrastructureOptions,
  StoppedError,
  type TenantInfrastructure,
} from '../../ports/tenant-infrastructure.ts';
import { type AccountQuotas, checkTenantFits, LIVE_STACKS } from './account-quotas.ts';
import { TENANT_STACK_PREFIX, tenantStackName } from './naming.ts';
import {
  TENANT_DASHBOARDS_UP_TO,
  TENANT_STACK_PARAMETERS,
  TENANT_TAG,
  type TenantStackCode,
  tenantStackParameters,
} from './tenant-stack.ts';

export interface StackInfrastructureOptions {
  client: CloudFormationClient;
  /** The tenant template published with the platform stack (`SILOPOOL_TENANT_TEMPLATE_URL`). */
  templateUrl: string;
  /** The model functions' code, the platform's own model bundle. */
  code: TenantStackCode;
  account: string;
  /** The Region the stacks are deployed in (a contract Region, or the platform's). */
  region: string;
  /** The platform's Region, passed to stacks in a contract Region (default `region`). */
  platformRegion?: string;
  /** The role CloudFormation deploys tenant stacks with; the caller only needs to pass it. */
  deployerRoleArn?: string;
  /** Verifies a deployed tenant's table and bucket; empties its bucket before the stack is deleted. */
  stores: StoreProvider;
  /**
   * Checked before a stack is created or its reservation raised (Lambda unreserved concurrency, stack count):
   * absent, nothing is checked (emulators without Lambda's account settings; see docs/aws.md).
   */
  quotas?: AccountQuotas;
  /** Model functions in one tenant stack, each reserving the tenant's reserved concurrency. */
  functionsPerStack?: number;
  /**
   * Per-tenant dashboards: always, never, or (default) for tenants created while fewer than `upTo` (default
   * TENANT_DASHBOARDS_UP_TO) tenant stacks exist. A stack keeps the choice made when it was created.
   */
  dashboards?: 'on' | 'off' | { upTo: number };
  /** Between DescribeStacks calls while a stack changes (default 5 s; CloudFormation takes minutes). */
  pollMs?: number;
  /** Give up waiting after this long (default 1 h): the operation reports it and can be retried. */
  timeoutMs?: number;
}

/** A stack that ended in a failed or rolled-back state: the reason is CloudFormation's own. */
export class StackFailedError extends Error {
  constructor(
    readonly stackName: string,
    readonly status: string,
    reason: string,
  ) {
    super(`Stack ${stackName} ended in ${status}: ${reason}`);
    this.name = 'StackFailedError';
  }
}

const READY = new Set(['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'IMPORT_COMPLETE']);
/**
 * A failed update rolled back: the stack serves with its previous parameters and CloudFormation accepts
 * updates from this state ("Stack status codes", AWS CloudFormation User Guide), so it is no dead end.
 */
const ROLLED_BACK_UPDATE = 'UPDATE_ROLLBACK_COMPLETE';
/** States no update can leave: only deleting the stack (or continuing a rollback by hand) helps. */
const FAILED = new Set([
  'CREATE_FAILED',
  'ROLLBACK_COMPLETE',
  'ROLLBACK_FAILED',
  'UPDATE_ROLLBACK_FAILED',
  'UPDATE_FAILED',
  'DELETE_FAILED',
  'IMPORT_ROLLBACK_COMPLETE',
  'IMPORT_ROLLBACK_FAILED',
]);

/**
 * Dedicated placement on AWS: one CloudFormation stack per tenant (`silopool-tenant-{id}`), instantiated
 * from the template the platform stack publishes, with the tenant's names and function settings as
 * parameters (src/adapters/aws/tenant-stack.ts). Deploy creates the stack, or updates it to the tenant's
 * current settings, and waits until it serves; remove empties the tenant's bucket and deletes the stack.
 * Both only look at the stack's state to decide what to do, so a crash or a stop at any point resumes.
 */
export function createStackInfrastructure(options: StackInfrastructureOptions): TenantInfrastructure {
  const { client } = options;
  const pollMs = options.pollMs ?? 5000;
  const timeoutMs = options.timeoutMs ?? 3_600_000;
  const role = options.deployerRoleArn ? { RoleARN: options.deployerRoleArn } : {};

  async function describe(name: string): Promise<Stack | undefined> {
    try {
      const out = await client.send(new DescribeStacksCommand({ StackName: name }));
      return out.Stacks?.[0];
    } catch (error) {
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message))
        return undefined;
      throw error;
    }
  }

  /** The first failure CloudFormation recorded since `since`, as "Resource: reason". */
  async function failureReason(stack: Stack, since: Date | undefined): Promise<string> {
    try {
      const out = await client.send(new DescribeStackEventsCommand({ StackName: stack.StackId }));
      const failures = (out.StackEvents ?? [])
        .filter((e) => e.ResourceStatus?.endsWith('_FAILED') && e.ResourceStatusReason)
        .filter((e) => !since || !e.Timestamp || e.Timestamp >= since)
        .filter((e) => !/cancelled/i.test(e.ResourceStatusReason ?? ''));
      const first = failures.at(-1); // events come newest first
      if (first) return `${first.LogicalResourceId}: ${first.ResourceStatusReason}`;
    } catch {
      // The status reason below is still worth reporting.
    }
    return stack.StackStatusReason ?? 'no reason given';
  }

  /** Polls until the stack leaves every *_IN_PROGRESS state; undefined when it no longer exists. */
  async function settle(name: string, opts: InfrastructureOptions): Promise<Stack | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (opts.signal?.aborted) throw new StoppedError();
      const stack = await describe(name);
      const status = stack?.StackStatus ?? 'DELETE_COMPLETE';
      if (!status.endsWith('_IN_PROGRESS')) return stack;
      if (status !== last) await opts.report?.(`stack ${name}: ${status}`);
      last = status;
      if (Date.now() > deadline)
        throw new Error(`Stack ${name} is still ${status} after ${Math.round(timeoutMs / 60_000)} min.`);
      await sleep(pollMs, opts.signal);
    }
  }

  /**
   * Tenant stacks that exist now, by ListStacks: a DescribeStacks without a stack name is authorized against
   * every stack (CloudFormation API reference, DescribeStacks `StackName`), which the control role, limited
   * to `silopool-tenant-*` stacks, is refused; ListStacks it may call on `*`.
   */
  async function tenantStackCount(): Promise<number> {
    let count = 0;
    let NextToken: string | undefined;
    do {
      const page = await client.send(
        new ListStacksCommand({ StackStatusFilter: LIVE_STACKS, ...(NextToken ? { NextToken } : {}) }),
      );
      count += (page.StackSummaries ?? []).filter((s) => s.StackName?.startsWith(TENANT_STACK_PREFIX)).length;
      NextToken = page.NextToken;
    } while (NextToken);
    return count;
  }

  async function dashboardFor(stack: Stack | undefined): Promise<boolean> {
    const kept = stack?.Parameters?.find(
      (p) => p.ParameterKey === TENANT_STACK_PARAMETERS.dashboard,
    )?.ParameterValue;
    if (kept !== undefined) return kept === 'true';
    const choice = options.dashboards ?? { upTo: TENANT_DASHBOARDS_UP_TO };
    if (choice === 'on' || choice === 'off') return choice === 'on';
    return (await tenantStackCount()) - (stack ? 1 : 0) < choice.upTo;
  }

  async function parametersOf(tenant: Tenant, stack: Stack | undefined) {
    const reserved = functionSettingsFor(tenant).reservedConcurrency;
    // The setting allows 0 and 1 (the embedded backend runs them); a stack's SQS event source cannot: its
    // maximum concurrency is at least 2 and must not exceed the function's reserved concurrency.
    if (reserved < AWS_MIN_RESERVED_CONCURRENCY)
      throw new ValidationError([
        {
          path: '/config/function/reservedConcurrency',
          message: `must be at least ${AWS_MIN_RESERVED_CONCURRENCY} for a dedicated tenant on AWS (an SQS event source's maximum concurrency is at least 2 and may not exceed it)`,
        },
      ]);
    const values = tenantStackParameters({
      tenantId: tenant.id,
      settings: functionSettingsFor(tenant),
      account: options.account,
      region: options.region,
      ...(options.platformRegion ? { platformRegion: options.platformRegion } : {}),
      code: options.code,
      dashboard: await dashboardFor(stack),
    });
    return Object.entries(values).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
  }

  const ref = (tenantId: TenantId) => laneForPlacement(tenantId, 'dedicated', '').store;

  /** Refuses, with the quota's name, a stack or a reservation the account cannot hold. */
  async function checkQuotas(tenant: Tenant, stack: Stack | undefined): Promise<void> {
    if (!options.quotas) return;
    const functions = options.functionsPerStack ?? 1;
    const wanted = functionSettingsFor(tenant).reservedConcurrency * functions;
    const current = Number(
      stack?.Parameters?.find((p) => p.ParameterKey === 'ReservedConcurrency')?.ParameterValue ?? 0,
    );
    const more = wanted - current * functions;
    if (stack && more <= 0) return;
    checkTenantFits(await options.quotas.read(), {
      reservedConcurrency: Math.max(0, more),
      stacks: stack ? 0 : 1,
    });
  }

  return {
    speed: 'slow',

    async deploy(tenant, opts = {}) {
      const name = tenantStackName(tenant.id);
      let stack = await settle(name, opts);
      const parameters = await parametersOf(tenant, stack);
      const request = {
        StackName: name,
        TemplateURL: options.templateUrl,
        Parameters: parameters,
        // The template creates the model functions' role (named by CloudFormation).
        Capabilities: ['CAPABILITY_IAM' as const, 'CAPABILITY_NAMED_IAM' as const],
        Tags: [{ Key: TENANT_TAG, Value: tenant.id }],
        ...role,
      };
      const started = new Date(Date.now() - 1000);
      let updating = false;
      if (!stack) {
        await checkQuotas(tenant, undefined);
        await opts.report?.(`creating stack ${name}`);
        try {
          await client.send(new CreateStackCommand(request));
        } catch (error) {
          if ((error as Error).name !== 'AlreadyExistsException') throw error;
        }
      } else if (FAILED.has(stack.StackStatus ?? '')) {
        // A create that rolled back (now or before a restart): report why; the caller removes it.
        throw new StackFailedError(name, stack.StackStatus ?? '', await failureReason(stack, undefined));
      } else if (!sameParameters(stack, parameters)) {
        updating = true;
        await checkQuotas(tenant, stack);
        await opts.report?.(`updating stack ${name} to the tenant's settings`);
        try {
          await client.send(new UpdateStackCommand(request));
        } catch (error) {
          if (!/No updates are to be performed/.test((error as Error).message)) throw error;
        }
      }
      stack = await settle(name, opts);
      if (!stack) throw new Error(`Stack ${name} disappeared while it was being deployed.`);
      const status = stack.StackStatus ?? '';
      // Rolled back before this deploy and already at the wanted parameters: it serves as asked.
      const serving = READY.has(status) || (status === ROLLED_BACK_UPDATE && !updating);
      if (!serving) throw new StackFailedError(name, status, await failureReason(stack, started));
      // The runtime finds the table and bucket by the names it passed: check they are there.
      await options.stores.provision(ref(tenant.id));
      return `stack ${name} ${status}`;
    },

    async remove(tenantId, opts = {}) {
      const name = tenantStackName(tenantId);
      let stack = await settle(name, opts);
      if (!stack) return `no stack ${name}`;
      for (let attempt = 1; ; attempt++) {
        // CloudFormation cannot delete a bucket that holds objects (or versions of them).
        await options.stores.destroy(ref(tenantId));
        await opts.report?.(`deleting stack ${name}`);
        await client.send(new DeleteStackCommand({ StackName: stack.StackId ?? name, ...role }));
        const started = new Date(Date.now() - 1000);
        const after = await settle(stack.StackId ?? name, opts);
        if (!after || after.StackStatus === 'DELETE_COMPLETE') return `deleted stack ${name}`;
        // A late write (a straggling artifact) can refill the bucket: empty it and delete again, once.
        if (attempt >= 2)
          throw new StackFailedError(name, after.StackStatus ?? '', await failureReason(after, started));
        stack = after;
      }
    },
  };
}

function sameParameters(stack: Stack, wanted: { ParameterKey: string; ParameterValue: string }[]): boolean {
  const current = new Map((stack.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
  return (
    current.size === wanted.length && wanted.every((p) => current.get(p.ParameterKey) === p.ParameterValue)
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
