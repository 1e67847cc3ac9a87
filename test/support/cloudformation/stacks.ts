// The stacks the emulator holds: their state, lookup by name or id, exports across stacks, and the event
// log every status change and resource step writes to.
import { randomUUID } from 'node:crypto';
import type { Scope } from './intrinsics.ts';
import type { LiveResource } from './resources.ts';
import type { Template } from './template.ts';

export const STACK_TYPE = 'AWS::CloudFormation::Stack';

interface StackEvent {
  id: string;
  logicalId: string;
  physicalId?: string;
  type: string;
  status: string;
  reason?: string;
  at: Date;
}

export interface Output {
  key: string;
  value: string;
  description?: string;
  exportName?: string;
}

/** The inputs of a create or update, validated before the background work starts. */
export interface StackInput {
  template: Template;
  parameters: Record<string, string>;
  tags?: Record<string, string>;
  roleArn?: string;
  capabilities: string[];
}

export interface StackState {
  name: string;
  id: string;
  status: string;
  statusReason?: string;
  template: Template;
  parameters: Record<string, string>;
  tags: Record<string, string>;
  roleArn?: string;
  capabilities: string[];
  resources: Map<string, LiveResource>;
  outputs: Output[];
  events: StackEvent[];
  createdAt: Date;
  updatedAt?: Date;
  deletedAt?: Date;
  /** Operations on one stack run one after another. */
  work: Promise<void>;
  deleteQueued: boolean;
}

export function recordEvent(
  stack: StackState,
  logicalId: string,
  type: string,
  status: string,
  physicalId?: string,
  reason?: string,
): void {
  stack.events.push({ id: randomUUID(), logicalId, type, status, physicalId, reason, at: new Date() });
}

/** An event of the stack itself (not one of its resources). */
export function recordStackEvent(stack: StackState, status: string, reason?: string): void {
  recordEvent(stack, stack.name, STACK_TYPE, status, stack.id, reason);
}

export function setStatus(stack: StackState, status: string, reason?: string): void {
  stack.status = status;
  stack.statusReason = reason;
  recordStackEvent(stack, status, reason);
}

export interface StackRegistry {
  readonly region: string;
  readonly account: string;
  /** Every stack ever created, deleted ones too (DescribeStacks finds those by id). */
  readonly all: StackState[];
  /** The current (not deleted) stack of that name. */
  live(name: string): StackState | undefined;
  byNameOrId(nameOrId: string): StackState | undefined;
  /** A new stack in CREATE_IN_PROGRESS. */
  add(name: string, input: StackInput): StackState;
  /** What intrinsics see for `template` with these parameters and resources, in `stack`. */
  scopeOf(
    stack: { name: string; id: string },
    template: Template,
    parameters: Record<string, string>,
    resources: Map<string, LiveResource>,
  ): Scope;
}

export function createStackRegistry(region: string, account: string): StackRegistry {
  const all: StackState[] = [];
  const live = (name: string) => all.find((s) => s.name === name && !s.deletedAt);

  function exported(name: string): string | undefined {
    for (const other of all) {
      if (other.deletedAt) continue;
      const found = other.outputs.find((o) => o.exportName === name);
      if (found) return found.value;
    }
    return undefined;
  }

  return {
    region,
    account,
    all,
    live,
    byNameOrId: (nameOrId) => all.find((s) => s.id === nameOrId) ?? live(nameOrId),
    add(name, input) {
      const stack: StackState = {
        ...input,
        name,
        id: `arn:aws:cloudformation:${region}:${account}:stack/${name}/${randomUUID()}`,
        status: 'CREATE_IN_PROGRESS',
        tags: input.tags ?? {},
        resources: new Map(),
        outputs: [],
        events: [],
        createdAt: new Date(),
        work: Promise.resolve(),
        deleteQueued: false,
      };
      all.push(stack);
      return stack;
    },
    scopeOf: (stack, template, parameters, resources) => ({
      stackName: stack.name,
      stackId: stack.id,
      region,
      account,
      template,
      parameters,
      resources,
      conditions: new Map(),
      exported,
    }),
  };
}
