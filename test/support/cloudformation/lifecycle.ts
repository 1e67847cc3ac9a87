// Stack operations in the background, one at a time per stack: create (rolled back on failure), update
// (replacements and cleanup, rolled back on failure) and delete, honouring the deletion policies.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorText } from './errors.ts';
import { isActive, resolve, type Scope } from './intrinsics.ts';
import { dependenciesOf, type Plan, planResources } from './plan.ts';
import type { LiveResource, ResourceHandler } from './resources.ts';
import {
  type Output,
  recordEvent,
  recordStackEvent,
  STACK_TYPE,
  type StackInput,
  type StackRegistry,
  type StackState,
  setStatus,
} from './stacks.ts';
import type { Props, Template } from './template.ts';
import { canonical, text } from './values.ts';

export interface StackLifecycle {
  startCreate(stack: StackState): void;
  startUpdate(stack: StackState, input: StackInput): void;
  /** Deletes the stack, keeping the resources in `retained` (DeleteStack's RetainResources). */
  startDelete(stack: StackState, retained: string[]): void;
  /** The next create/update of this stack fails at resource `logicalId` with `reason`. */
  failNext(stackName: string, logicalId: string, reason: string): void;
}

interface ResourceFailure {
  logicalId: string;
  reason: string;
}

const deletionPolicy = (template: Template, id: string) => template.Resources[id]?.DeletionPolicy ?? '';

const failedResources = (verb: string, ids: string[], detail = '') =>
  `The following resource(s) failed to ${verb}: [${ids.join(', ')}]. ${detail}`;

function resolveOutputs(scope: Scope): Output[] {
  const outputs: Output[] = [];
  for (const [key, output] of Object.entries(scope.template.Outputs ?? {})) {
    if (!isActive(output.Condition, scope)) continue;
    const exportName = output.Export ? text(resolve(output.Export.Name, scope)) : undefined;
    outputs.push({
      key,
      value: text(resolve(output.Value, scope)),
      description: output.Description,
      exportName,
    });
  }
  return outputs;
}

/** Ends a rollback, keeping the status reason of the failure that started it. */
function finishRollback(stack: StackState, status: string): void {
  stack.status = status;
  recordStackEvent(stack, status);
}

export function createStackLifecycle(options: {
  registry: StackRegistry;
  handlerFor: (type: string) => ResourceHandler;
  /** Delay before an operation starts working, so callers really see *_IN_PROGRESS. */
  delayMs: number;
}): StackLifecycle {
  const { registry, handlerFor, delayMs } = options;
  const failures = new Map<string, ResourceFailure>();

  const contextOf = (stack: StackState, logicalId: string) => ({
    stackName: stack.name,
    logicalId,
    region: registry.region,
    account: registry.account,
  });
  const scopeOf = (stack: StackState) =>
    registry.scopeOf(stack, stack.template, stack.parameters, stack.resources);

  function takeFailure(stack: StackState): (logicalId: string) => void {
    const failure = failures.get(stack.name);
    failures.delete(stack.name);
    return (logicalId) => {
      if (failure?.logicalId === logicalId) throw new Error(failure.reason);
    };
  }

  /** Deletes resources in the given order; a failed resource keeps everything it depends on. */
  async function deleteResources(
    stack: StackState,
    order: string[],
    plan: Plan,
    retained: (id: string) => boolean,
  ): Promise<ResourceFailure[]> {
    const failed: ResourceFailure[] = [];
    const blocked = new Set<string>();
    for (const id of order) {
      const resource = stack.resources.get(id);
      if (!resource || blocked.has(id)) continue;
      if (retained(id)) {
        recordEvent(stack, id, resource.type, 'DELETE_SKIPPED', resource.physicalId);
        stack.resources.delete(id);
        continue;
      }
      recordEvent(stack, id, resource.type, 'DELETE_IN_PROGRESS', resource.physicalId);
      try {
        await handlerFor(resource.type).delete(resource);
        recordEvent(stack, id, resource.type, 'DELETE_COMPLETE', resource.physicalId);
        stack.resources.delete(id);
      } catch (error) {
        const reason = errorText(error);
        recordEvent(stack, id, resource.type, 'DELETE_FAILED', resource.physicalId, reason);
        failed.push({ logicalId: id, reason });
        dependenciesOf(id, plan, blocked);
      }
    }
    return failed;
  }

  async function createResources(stack: StackState): Promise<void> {
    const failAt = takeFailure(stack);
    const scope = scopeOf(stack);
    const plan = planResources(stack.template, scope);
    let current = stack.name;
    let type = STACK_TYPE;
    try {
      for (const id of plan.order) {
        const definition = stack.template.Resources[id]!;
        [current, type] = [id, definition.Type];
        recordEvent(stack, id, type, 'CREATE_IN_PROGRESS');
        const properties = resolve(definition.Properties ?? {}, scope) as Props;
        failAt(id);
        const created = await handlerFor(type).create(properties, contextOf(stack, id));
        stack.resources.set(id, { ...created, type, properties });
        recordEvent(stack, id, type, 'CREATE_COMPLETE', created.physicalId);
      }
      stack.outputs = resolveOutputs(scope);
      setStatus(stack, 'CREATE_COMPLETE');
    } catch (error) {
      const detail = errorText(error);
      recordEvent(stack, current, type, 'CREATE_FAILED', undefined, detail);
      setStatus(stack, 'ROLLBACK_IN_PROGRESS', failedResources('create', [current], `${current}: ${detail}`));
      const failed = await deleteResources(
        stack,
        [...plan.order].reverse(),
        plan,
        (id) => deletionPolicy(stack.template, id) === 'Retain',
      );
      if (failed.length > 0) {
        setStatus(
          stack,
          'ROLLBACK_FAILED',
          failedResources(
            'delete',
            failed.map((f) => f.logicalId),
          ),
        );
      } else {
        finishRollback(stack, 'ROLLBACK_COMPLETE');
      }
    }
  }

  async function updateResources(stack: StackState, input: StackInput): Promise<void> {
    const failAt = takeFailure(stack);
    const before = new Map(stack.resources);
    const oldPlan = planResources(
      stack.template,
      registry.scopeOf(stack, stack.template, stack.parameters, before),
    );
    const next = new Map<string, LiveResource>();
    const scope = registry.scopeOf(stack, input.template, input.parameters, next);
    const created: string[] = [];
    const replaced: [string, LiveResource][] = [];
    const changedInPlace: [string, LiveResource][] = [];
    let plan: Plan | undefined;
    let current = stack.name;
    let type = STACK_TYPE;
    let failedVerb = 'update';
    try {
      plan = planResources(input.template, scope);
      for (const id of plan.order) {
        const definition = input.template.Resources[id]!;
        [current, type] = [id, definition.Type];
        const properties = resolve(definition.Properties ?? {}, scope) as Props;
        const previous = before.get(id);
        failedVerb = previous ? 'update' : 'create';
        if (previous && previous.type === type && canonical(previous.properties) === canonical(properties)) {
          failAt(id);
          next.set(id, previous);
          continue;
        }
        const status = previous ? 'UPDATE_IN_PROGRESS' : 'CREATE_IN_PROGRESS';
        recordEvent(stack, id, type, status, previous?.physicalId);
        failAt(id);
        const inPlace =
          previous && previous.type === type
            ? await handlerFor(type).update(previous, properties)
            : undefined;
        if (previous && inPlace) {
          next.set(id, { ...inPlace, type, properties });
          changedInPlace.push([id, previous]);
          recordEvent(stack, id, type, 'UPDATE_COMPLETE', inPlace.physicalId);
          continue;
        }
        const fresh = await handlerFor(type).create(properties, contextOf(stack, id));
        next.set(id, { ...fresh, type, properties });
        if (previous) replaced.push([id, previous]);
        else created.push(id);
        recordEvent(stack, id, type, previous ? 'UPDATE_COMPLETE' : 'CREATE_COMPLETE', fresh.physicalId);
      }
      const outputs = resolveOutputs(scope);
      setStatus(stack, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      // Old resources leave the stack after the new ones are in place, like CloudFormation's cleanup phase.
      stack.resources = new Map([...before].filter(([id]) => !next.has(id)));
      await deleteResources(stack, [...oldPlan.order].reverse(), oldPlan, (id) =>
        deletionPolicy(stack.template, id).startsWith('Retain'),
      );
      for (const [id, old] of replaced) {
        if (stack.template.Resources[id]?.UpdateReplacePolicy === 'Retain') continue;
        await handlerFor(old.type)
          .delete(old)
          .catch((error) =>
            recordEvent(stack, id, old.type, 'DELETE_FAILED', old.physicalId, errorText(error)),
          );
      }
      Object.assign(stack, {
        ...input,
        tags: input.tags ?? stack.tags,
        outputs,
        resources: next,
        updatedAt: new Date(),
      });
      setStatus(stack, 'UPDATE_COMPLETE');
    } catch (error) {
      const detail = errorText(error);
      const failedStatus = failedVerb === 'create' ? 'CREATE_FAILED' : 'UPDATE_FAILED';
      recordEvent(stack, current, type, failedStatus, undefined, detail);
      const reason = failedResources(failedVerb, [current], `${current}: ${detail}`);
      setStatus(stack, 'UPDATE_ROLLBACK_IN_PROGRESS', reason);
      for (const [id, previous] of changedInPlace.reverse()) {
        const now = next.get(id)!;
        await handlerFor(previous.type).update(now, previous.properties);
      }
      setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', reason);
      stack.resources = new Map([...created, ...replaced.map(([id]) => id)].map((id) => [id, next.get(id)!]));
      await deleteResources(
        stack,
        [...stack.resources.keys()].reverse(),
        plan ?? { order: [], deps: new Map() },
        (id) => deletionPolicy(input.template, id) === 'Retain',
      );
      stack.resources = before;
      finishRollback(stack, 'UPDATE_ROLLBACK_COMPLETE');
    }
  }

  async function deleteStack(stack: StackState, retainedOnRequest: string[]): Promise<void> {
    stack.deleteQueued = false;
    if (stack.status !== 'DELETE_IN_PROGRESS') setStatus(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
    const plan = planResources(stack.template, scopeOf(stack));
    const order = [...new Set([...plan.order, ...stack.resources.keys()])].reverse();
    const failed = await deleteResources(
      stack,
      order,
      plan,
      (id) => deletionPolicy(stack.template, id).startsWith('Retain') || retainedOnRequest.includes(id),
    );
    if (failed.length > 0) {
      const detail = failed.map((f) => `${f.logicalId}: ${f.reason}`).join('; ');
      const ids = failed.map((f) => f.logicalId);
      setStatus(stack, 'DELETE_FAILED', failedResources('delete', ids, detail));
      return;
    }
    setStatus(stack, 'DELETE_COMPLETE');
    stack.deletedAt = new Date();
  }

  /** Queues `work` behind the stack's running operation; an unexpected error ends in `failedStatus`. */
  function schedule(stack: StackState, work: () => Promise<void>, failedStatus: string) {
    stack.work = stack.work
      .then(() => sleep(delayMs))
      .then(work)
      .catch((error: unknown) => setStatus(stack, failedStatus, `Emulator error: ${errorText(error)}`));
  }

  return {
    startCreate: (stack) => schedule(stack, () => createResources(stack), 'ROLLBACK_FAILED'),
    startUpdate: (stack, input) =>
      schedule(stack, () => updateResources(stack, input), 'UPDATE_ROLLBACK_FAILED'),
    startDelete: (stack, retained) => schedule(stack, () => deleteStack(stack, retained), 'DELETE_FAILED'),
    failNext(stackName, logicalId, reason) {
      failures.set(stackName, { logicalId, reason });
    },
  };
}
