import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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

const XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const NO_VALUE = Symbol('AWS::NoValue');
const UPDATABLE = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
]);

type Props = Record<string, unknown>;

interface TemplateParameter {
  Type?: string;
  Default?: unknown;
  AllowedPattern?: string;
  AllowedValues?: unknown[];
  MinValue?: number | string;
  MaxValue?: number | string;
  MinLength?: number | string;
  MaxLength?: number | string;
  ConstraintDescription?: string;
  NoEcho?: boolean | string;
}

interface TemplateResource {
  Type: string;
  Properties?: Props;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

interface Template {
  Description?: string;
  Parameters?: Record<string, TemplateParameter>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<
    string,
    { Value: unknown; Description?: string; Condition?: string; Export?: { Name: unknown } }
  >;
}

interface LiveResource {
  type: string;
  physicalId: string;
  ref: string;
  attrs: Record<string, string>;
  properties: Props;
}

interface StackEvent {
  id: string;
  logicalId: string;
  physicalId?: string;
  type: string;
  status: string;
  reason?: string;
  at: Date;
}

interface Output {
  key: string;
  value: string;
  description?: string;
  exportName?: string;
}

interface StackState {
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

/** The inputs of a create or update, validated before the background work starts. */
interface StackInput {
  template: Template;
  parameters: Record<string, string>;
  tags?: Record<string, string>;
  roleArn?: string;
  capabilities: string[];
}

/** Active resources of a template in creation order, and what each depends on. */
interface Plan {
  order: string[];
  deps: Map<string, Set<string>>;
}

class CloudFormationError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const validation = (message: string) => new CloudFormationError('ValidationError', message);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status ? `${error.message} (Status Code: ${status}, Error Code: ${error.name})` : error.message;
}

function randomSuffix(length = 12): string {
  return randomUUID().replaceAll('-', '').slice(0, length).toUpperCase();
}

function generatedName(stack: string, logicalId: string, maxLength: number, suffix = ''): string {
  const random = randomSuffix();
  const base = `${stack}-${logicalId}`.slice(0, maxLength - random.length - 1 - suffix.length);
  return `${base}-${random}${suffix}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Canonical JSON (sorted keys), to compare templates and resolved properties. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

// ---------------------------------------------------------------------------------------------------------
// Intrinsic functions

interface Scope {
  stackName: string;
  stackId: string;
  region: string;
  account: string;
  template: Template;
  parameters: Record<string, string>;
  resources: Map<string, LiveResource>;
  exported(name: string): string | undefined;
  conditions: Map<string, boolean>;
}

function refValue(name: string, scope: Scope): unknown {
  switch (name) {
    case 'AWS::AccountId':
      return scope.account;
    case 'AWS::Region':
      return scope.region;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return scope.stackName;
    case 'AWS::StackId':
      return scope.stackId;
    case 'AWS::NotificationARNs':
      return [];
    case 'AWS::NoValue':
      return NO_VALUE;
  }
  const declared = scope.template.Parameters?.[name];
  if (declared) {
    const value = scope.parameters[name] ?? '';
    const type = declared.Type ?? 'String';
    return type === 'CommaDelimitedList' || type.startsWith('List<') ? value.split(',') : value;
  }
  const resource = scope.resources.get(name);
  if (!resource)
    throw validation(`Template error: instance of Ref references ${name}, which is not available`);
  return resource.ref;
}

function getAtt(logicalId: string, attribute: string, scope: Scope): string {
  const resource = scope.resources.get(logicalId);
  if (!resource)
    throw validation(`Template error: instance of Fn::GetAtt references undefined resource ${logicalId}`);
  const service = resource.type.split('::')[1]?.toLowerCase() ?? 'unknown';
  return resource.attrs[attribute] ?? `arn:aws:${service}:${scope.region}:${scope.account}:${logicalId}`;
}

function text(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

function substitute(template: string, vars: Record<string, unknown>, scope: Scope): string {
  return template.replace(/\$\{([^}]*)\}/g, (_match, raw: string) => {
    if (raw.startsWith('!')) return `\${${raw.slice(1)}}`;
    const name = raw.trim();
    if (name in vars) return text(vars[name]);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), scope);
    return text(refValue(name, scope));
  });
}

function intrinsic(name: string, arg: unknown, scope: Scope): unknown {
  const args = Array.isArray(arg) ? arg : [arg];
  switch (name) {
    case 'Fn::GetAtt': {
      if (typeof arg === 'string') {
        const dot = arg.indexOf('.');
        return getAtt(arg.slice(0, dot), arg.slice(dot + 1), scope);
      }
      return getAtt(String(args[0]), String(resolve(args[1], scope)), scope);
    }
    case 'Fn::Join': {
      const list = resolve(args[1], scope);
      return (Array.isArray(list) ? list : [list]).map(text).join(String(args[0]));
    }
    case 'Fn::Sub': {
      const vars = resolve(args[1] ?? {}, scope);
      return substitute(String(args[0]), isRecord(vars) ? vars : {}, scope);
    }
    case 'Fn::Select': {
      const list = resolve(args[1], scope);
      const index = Number(resolve(args[0], scope));
      if (!Array.isArray(list) || list[index] === undefined)
        throw validation('Template error: Fn::Select index out of bounds');
      return list[index];
    }
    case 'Fn::Split':
      return text(resolve(args[1], scope)).split(String(args[0]));
    case 'Fn::If': {
      const chosen = evaluateCondition({ Condition: args[0] }, scope) ? args[1] : args[2];
      return resolve(chosen, scope);
    }
    case 'Fn::Base64':
      return Buffer.from(text(resolve(arg, scope))).toString('base64');
    case 'Fn::GetAZs': {
      const region = text(resolve(arg, scope)) || scope.region;
      return ['a', 'b', 'c'].map((zone) => `${region}${zone}`);
    }
    case 'Fn::FindInMap': {
      const [map, top, second] = args.map((a) => text(resolve(a, scope)));
      const value = scope.template.Mappings?.[map ?? '']?.[top ?? '']?.[second ?? ''];
      if (value === undefined)
        throw validation(`Template error: Unable to get mapping for ${map}::${top}::${second}`);
      return value;
    }
    case 'Fn::ImportValue': {
      const exportName = text(resolve(arg, scope));
      const value = scope.exported(exportName);
      if (value === undefined) throw validation(`No export named ${exportName} found.`);
      return value;
    }
    case 'Fn::ToJsonString':
      return JSON.stringify(resolve(arg, scope));
    case 'Fn::Length': {
      const list = resolve(arg, scope);
      return Array.isArray(list) ? list.length : 0;
    }
    case 'Fn::Equals':
    case 'Fn::Not':
    case 'Fn::And':
    case 'Fn::Or':
      return evaluateCondition({ [name]: arg }, scope);
    default:
      throw validation(`Template error: the emulator does not support ${name}`);
  }
}

/** Resolves every intrinsic function in `value`; AWS::NoValue removes the property or list item. */
function resolve(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope)).filter((v) => v !== NO_VALUE);
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  const only = keys.length === 1 ? keys[0] : undefined;
  if (only === 'Ref') return refValue(String(value[only]), scope);
  if (only?.startsWith('Fn::')) return intrinsic(only, value[only], scope);
  const out: Props = {};
  for (const [key, item] of Object.entries(value)) {
    const resolved = resolve(item, scope);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}

function evaluateCondition(expression: unknown, scope: Scope): boolean {
  if (isRecord(expression)) {
    const [name, arg] = Object.entries(expression)[0] ?? [];
    const args = Array.isArray(arg) ? arg : [arg];
    switch (name) {
      case 'Condition': {
        const conditionName = String(arg);
        const known = scope.conditions.get(conditionName);
        if (known !== undefined) return known;
        const definition = scope.template.Conditions?.[conditionName];
        if (definition === undefined)
          throw validation(`Template error: unresolved condition ${conditionName}`);
        const value = evaluateCondition(definition, scope);
        scope.conditions.set(conditionName, value);
        return value;
      }
      case 'Fn::Equals':
        return canonical(resolve(args[0], scope)) === canonical(resolve(args[1], scope));
      case 'Fn::Not':
        return !evaluateCondition(args[0], scope);
      case 'Fn::And':
        return args.every((a) => evaluateCondition(a, scope));
      case 'Fn::Or':
        return args.some((a) => evaluateCondition(a, scope));
    }
  }
  const value = resolve(expression, scope);
  return value === true || value === 'true';
}

// ---------------------------------------------------------------------------------------------------------
// Template analysis

/** Logical ids a value refers to through Ref, Fn::GetAtt and Fn::Sub. */
function references(value: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) references(item, out);
  } else if (isRecord(value)) {
    for (const [key, arg] of Object.entries(value)) {
      if (key === 'Ref' && typeof arg === 'string') out.add(arg);
      else if (key === 'Fn::GetAtt' && typeof arg === 'string') out.add(arg.split('.')[0] ?? arg);
      else if (key === 'Fn::GetAtt' && Array.isArray(arg)) {
        out.add(String(arg[0]));
        references(arg.slice(1), out);
      } else if (key === 'Fn::Sub') {
        const [body, vars] = Array.isArray(arg) ? arg : [arg, {}];
        for (const match of String(body).matchAll(/\$\{([^}!][^}]*)\}/g)) {
          const name = match[1]?.trim() ?? '';
          if (isRecord(vars) && name in vars) continue;
          out.add(name.startsWith('AWS::') ? name : (name.split('.')[0] ?? name));
        }
        references(vars, out);
      } else references(arg, out);
    }
  }
  return out;
}

function parseTemplate(body: string): Template {
  let template: unknown;
  try {
    template = JSON.parse(body);
  } catch {
    throw validation('Template format error: JSON not well-formed. (the emulator reads JSON templates only)');
  }
  if (!isRecord(template) || !isRecord(template.Resources) || Object.keys(template.Resources).length === 0) {
    throw validation('Template format error: At least one Resources member must be defined.');
  }
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (!isRecord(resource) || typeof resource.Type !== 'string') {
      throw validation(
        `Template format error: [/Resources/${id}] Every Resources object must contain a Type member.`,
      );
    }
  }
  const known = new Set([...Object.keys(template.Resources), ...Object.keys(template.Parameters ?? {})]);
  const unresolved = new Set<string>();
  for (const [id, resource] of Object.entries(template.Resources as Record<string, TemplateResource>)) {
    const deps = references(resource.Properties, new Set(resource.DependsOn ?? []));
    for (const dep of deps)
      if (!known.has(dep) && !dep.startsWith('AWS::') && dep !== id) unresolved.add(dep);
  }
  if (unresolved.size > 0) {
    throw validation(
      `Template format error: Unresolved resource dependencies [${[...unresolved].join(', ')}] in the Resources block of the template`,
    );
  }
  return template as unknown as Template;
}

function planResources(template: Template, scope: Scope): Plan {
  const active = Object.entries(template.Resources)
    .filter(([, r]) => r.Condition === undefined || evaluateCondition({ Condition: r.Condition }, scope))
    .map(([id]) => id);
  const activeSet = new Set(active);
  const deps = new Map<string, Set<string>>();
  for (const id of active) {
    const resource = template.Resources[id]!;
    const dependsOn =
      typeof resource.DependsOn === 'string' ? [resource.DependsOn] : (resource.DependsOn ?? []);
    const all = references(resource.Properties, new Set(dependsOn));
    deps.set(id, new Set([...all].filter((dep) => activeSet.has(dep) && dep !== id)));
  }
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < active.length) {
    const next = active.find((id) => !placed.has(id) && [...deps.get(id)!].every((dep) => placed.has(dep)));
    if (!next) {
      const cycle = active.filter((id) => !placed.has(id));
      throw validation(`Circular dependency between resources: [${cycle.join(', ')}]`);
    }
    order.push(next);
    placed.add(next);
  }
  return { order, deps };
}

function dependenciesOf(id: string, plan: Plan, out = new Set<string>()): Set<string> {
  for (const dep of plan.deps.get(id) ?? []) {
    if (!out.has(dep)) {
      out.add(dep);
      dependenciesOf(dep, plan, out);
    }
  }
  return out;
}

function validateParameters(template: Template, given: Record<string, string>): Record<string, string> {
  const declared = template.Parameters ?? {};
  const unknown = Object.keys(given).filter((key) => !(key in declared));
  if (unknown.length > 0)
    throw validation(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const [key, definition] of Object.entries(declared)) {
    const value = given[key] ?? (definition.Default === undefined ? undefined : text(definition.Default));
    if (value === undefined) missing.push(key);
    else values[key] = value;
  }
  if (missing.length > 0) throw validation(`Parameters: [${missing.join(', ')}] must have values`);
  for (const [key, definition] of Object.entries(declared)) {
    const value = values[key]!;
    const fail = (constraint: string) =>
      validation(
        definition.ConstraintDescription
          ? `Parameter '${key}' failed to satisfy constraint: ${definition.ConstraintDescription}`
          : `Parameter '${key}' ${constraint}`,
      );
    if (definition.AllowedValues && !definition.AllowedValues.map(text).includes(value)) {
      throw fail('must be one of AllowedValues');
    }
    if (
      definition.AllowedPattern !== undefined &&
      !new RegExp(`^(?:${definition.AllowedPattern})$`).test(value)
    ) {
      throw fail(`must match pattern ${definition.AllowedPattern}`);
    }
    if (definition.MinLength !== undefined && value.length < Number(definition.MinLength)) {
      throw fail(`must contain at least ${definition.MinLength} characters`);
    }
    if (definition.MaxLength !== undefined && value.length > Number(definition.MaxLength)) {
      throw fail(`must contain at most ${definition.MaxLength} characters`);
    }
    if (definition.Type === 'Number') {
      const number = Number(value);
      if (value.trim() === '' || Number.isNaN(number)) throw fail('must be a number');
      if (definition.MinValue !== undefined && number < Number(definition.MinValue)) {
        throw fail(`must be a number greater than or equal to ${definition.MinValue}`);
      }
      if (definition.MaxValue !== undefined && number > Number(definition.MaxValue)) {
        throw fail(`must be a number less than or equal to ${definition.MaxValue}`);
      }
    }
  }
  return values;
}

const NAMED_IAM: Record<string, string> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
};

function checkCapabilities(template: Template, capabilities: string[]): void {
  const resources = Object.values(template.Resources);
  const named = resources.some((r) => {
    const nameProperty = NAMED_IAM[r.Type];
    return nameProperty !== undefined && r.Properties?.[nameProperty] !== undefined;
  });
  if (named && !capabilities.includes('CAPABILITY_NAMED_IAM')) {
    throw new CloudFormationError(
      'InsufficientCapabilitiesException',
      'Requires capabilities : [CAPABILITY_NAMED_IAM]',
    );
  }
  const iam = resources.some((r) => r.Type.startsWith('AWS::IAM::'));
  if (iam && !capabilities.includes('CAPABILITY_IAM') && !capabilities.includes('CAPABILITY_NAMED_IAM')) {
    throw new CloudFormationError(
      'InsufficientCapabilitiesException',
      'Requires capabilities : [CAPABILITY_IAM]',
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Resources on the emulators

interface ResourceContext {
  stackName: string;
  logicalId: string;
  region: string;
  account: string;
}

interface ResourceHandler {
  create(props: Props, context: ResourceContext): Promise<Omit<LiveResource, 'type' | 'properties'>>;
  /** Applies changed properties in place; `undefined` means the change needs a replacement. */
  update(current: LiveResource, props: Props): Promise<Omit<LiveResource, 'type' | 'properties'> | undefined>;
  delete(resource: LiveResource): Promise<void>;
}

/** The queue attributes CloudFormation passes on and fauxqs accepts, with SQS's defaults for removed ones. */
const QUEUE_ATTRIBUTES: Record<string, string | undefined> = {
  VisibilityTimeout: '30',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  MaximumMessageSize: '1048576',
  ReceiveMessageWaitTimeSeconds: '0',
  RedrivePolicy: '',
  FifoQueue: undefined,
  ContentBasedDeduplication: 'false',
  KmsMasterKeyId: undefined,
  KmsDataKeyReusePeriodSeconds: undefined,
};

function queueAttributes(props: Props): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of Object.keys(QUEUE_ATTRIBUTES)) {
    const value = props[name];
    if (value !== undefined)
      attributes[name] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return attributes;
}

function isMissing(error: unknown, ...names: string[]): boolean {
  return error instanceof Error && names.includes(error.name);
}

function handlers(options: CloudFormationEmulatorOptions): Record<string, ResourceHandler> {
  const dynamo = options.dynamo as DynamoDBClient;

  async function tableStatus(name: string): Promise<string | undefined> {
    try {
      return (await dynamo.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus;
    } catch (error) {
      if (isMissing(error, 'ResourceNotFoundException')) return undefined;
      throw error;
    }
  }

  async function waitForTable(name: string, done: (status: string | undefined) => boolean): Promise<void> {
    for (let attempt = 0; attempt < 1000; attempt++) {
      if (done(await tableStatus(name))) return;
      await sleep(10);
    }
    throw new Error(`Table ${name} did not settle within 10 s`);
  }

  const queue: ResourceHandler = {
    async create(props, { stackName, logicalId, region, account }) {
      const fifo = String(props.FifoQueue) === 'true';
      const name = props.QueueName
        ? String(props.QueueName)
        : generatedName(stackName, logicalId, 80, fifo ? '.fifo' : '');
      const out = await options.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: queueAttributes(props) }),
      );
      const url = out.QueueUrl!;
      return {
        physicalId: url,
        ref: url,
        attrs: { Arn: `arn:aws:sqs:${region}:${account}:${name}`, QueueName: name, QueueUrl: url },
      };
    },
    async update(current, props) {
      if (
        props.QueueName !== current.properties.QueueName ||
        props.FifoQueue !== current.properties.FifoQueue
      ) {
        return undefined;
      }
      const before = queueAttributes(current.properties);
      const after = queueAttributes(props);
      const changed: Record<string, string> = {};
      for (const [name, value] of Object.entries(after)) if (before[name] !== value) changed[name] = value;
      for (const name of Object.keys(before)) {
        const fallback = QUEUE_ATTRIBUTES[name];
        if (!(name in after) && fallback !== undefined) changed[name] = fallback;
      }
      if (Object.keys(changed).length > 0) {
        await options.sqs.send(
          new SetQueueAttributesCommand({ QueueUrl: current.physicalId, Attributes: changed }),
        );
      }
      return current;
    },
    async delete(resource) {
      try {
        await options.sqs.send(new DeleteQueueCommand({ QueueUrl: resource.physicalId }));
      } catch (error) {
        if (!isMissing(error, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue')) throw error;
      }
    },
  };

  const table: ResourceHandler = {
    async create(props, { stackName, logicalId, region, account }) {
      const name = props.TableName ? String(props.TableName) : generatedName(stackName, logicalId, 255);
      const provisioned =
        (props.BillingMode ?? (props.ProvisionedThroughput ? 'PROVISIONED' : undefined)) === 'PROVISIONED';
      const throughput = (value: unknown) => {
        const t = isRecord(value) ? value : {};
        return {
          ReadCapacityUnits: Number(t.ReadCapacityUnits ?? 1),
          WriteCapacityUnits: Number(t.WriteCapacityUnits ?? 1),
        };
      };
      const indexes = (value: unknown, withThroughput: boolean) =>
        Array.isArray(value) && value.length > 0
          ? value.filter(isRecord).map((index) => ({
              IndexName: String(index.IndexName),
              KeySchema: index.KeySchema as never,
              Projection: index.Projection as never,
              ...(withThroughput ? { ProvisionedThroughput: throughput(index.ProvisionedThroughput) } : {}),
            }))
          : undefined;
      await dynamo.send(
        new CreateTableCommand({
          TableName: name,
          KeySchema: props.KeySchema as never,
          AttributeDefinitions: props.AttributeDefinitions as never,
          BillingMode: provisioned ? 'PROVISIONED' : 'PAY_PER_REQUEST',
          ...(provisioned ? { ProvisionedThroughput: throughput(props.ProvisionedThroughput) } : {}),
          GlobalSecondaryIndexes: indexes(props.GlobalSecondaryIndexes, provisioned),
          LocalSecondaryIndexes: indexes(props.LocalSecondaryIndexes, false),
        }),
      );
      await waitForTable(name, (status) => status === 'ACTIVE');
      const arn = `arn:aws:dynamodb:${region}:${account}:table/${name}`;
      const attrs: Record<string, string> = { Arn: arn };
      if (props.StreamSpecification)
        attrs.StreamArn = `${arn}/stream/${new Date().toISOString().slice(0, 23)}`;
      return { physicalId: name, ref: name, attrs };
    },
    async update(current, props) {
      const keysOf = (p: Props) => canonical([p.TableName, p.KeySchema]);
      return keysOf(props) === keysOf(current.properties) ? current : undefined;
    },
    async delete(resource) {
      try {
        await dynamo.send(new DeleteTableCommand({ TableName: resource.physicalId }));
      } catch (error) {
        if (isMissing(error, 'ResourceNotFoundException')) return;
        throw error;
      }
      await waitForTable(resource.physicalId, (status) => status === undefined);
    },
  };

  const bucket: ResourceHandler = {
    async create(props, { stackName, logicalId, region }) {
      const name = props.BucketName
        ? String(props.BucketName)
        : generatedName(stackName, logicalId, 63)
            .toLowerCase()
            .replace(/[^a-z0-9.-]/g, '-');
      await options.s3.send(new CreateBucketCommand({ Bucket: name }));
      return {
        physicalId: name,
        ref: name,
        attrs: {
          Arn: `arn:aws:s3:::${name}`,
          DomainName: `${name}.s3.amazonaws.com`,
          RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
          DualStackDomainName: `${name}.s3.dualstack.${region}.amazonaws.com`,
          WebsiteURL: `http://${name}.s3-website-${region}.amazonaws.com`,
        },
      };
    },
    async update(current, props) {
      return props.BucketName === current.properties.BucketName ? current : undefined;
    },
    async delete(resource) {
      try {
        await options.s3.send(new DeleteBucketCommand({ Bucket: resource.physicalId }));
      } catch (error) {
        if (!isMissing(error, 'NoSuchBucket')) throw error;
      }
    },
  };

  return { 'AWS::SQS::Queue': queue, 'AWS::DynamoDB::Table': table, 'AWS::S3::Bucket': bucket };
}

/** Every type the emulator does not create anywhere: recorded, with a made-up physical id. */
const recordedOnly: ResourceHandler = {
  async create(_props, { logicalId }) {
    const physicalId = `${logicalId}-${randomSuffix()}`;
    return { physicalId, ref: physicalId, attrs: {} };
  },
  async update(current) {
    return current;
  },
  async delete() {},
};

// ---------------------------------------------------------------------------------------------------------
// The awsQuery wire format

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
function members(form: URLSearchParams, prefix: string): Record<string, string>[] {
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

function hasList(form: URLSearchParams, prefix: string): boolean {
  return form.has(prefix) || [...form.keys()].some((key) => key.startsWith(`${prefix}.`));
}

function s3Location(url: string): { bucket: string; key: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const segments = parsed.pathname.split('/').slice(1).map(decodeURIComponent);
  const virtualHost = /^(.+)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/.exec(parsed.hostname);
  const [bucket, key] = virtualHost
    ? [virtualHost[1], segments.join('/')]
    : [segments[0], segments.slice(1).join('/')];
  return bucket && key ? { bucket, key } : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// The emulator

export async function startCloudFormationEmulator(
  options: CloudFormationEmulatorOptions,
): Promise<CloudFormationEmulator> {
  const account = options.account ?? '000000000000';
  const region = options.region ?? 'us-east-1';
  const delayMs = options.delayMs ?? 20;
  const resourceHandlers = handlers(options);
  const handlerFor = (type: string) => resourceHandlers[type] ?? recordedOnly;
  const stacks: StackState[] = [];
  const calls: { action: string; stackName?: string }[] = [];
  const failures = new Map<string, { logicalId: string; reason: string }>();

  const live = (name: string) => stacks.find((s) => s.name === name && !s.deletedAt);
  const byNameOrId = (nameOrId: string) => stacks.find((s) => s.id === nameOrId) ?? live(nameOrId);

  function scopeOf(
    stack: { name: string; id: string },
    template: Template,
    parameters: Record<string, string>,
    resources: Map<string, LiveResource>,
  ): Scope {
    return {
      stackName: stack.name,
      stackId: stack.id,
      region,
      account,
      template,
      parameters,
      resources,
      conditions: new Map(),
      exported: (name) => {
        for (const other of stacks) {
          if (other.deletedAt) continue;
          const found = other.outputs.find((o) => o.exportName === name);
          if (found) return found.value;
        }
        return undefined;
      },
    };
  }

  function event(
    stack: StackState,
    logicalId: string,
    type: string,
    status: string,
    physicalId?: string,
    reason?: string,
  ) {
    stack.events.push({ id: randomUUID(), logicalId, type, status, physicalId, reason, at: new Date() });
  }

  function setStatus(stack: StackState, status: string, reason?: string) {
    stack.status = status;
    stack.statusReason = reason;
    event(stack, stack.name, 'AWS::CloudFormation::Stack', status, stack.id, reason);
  }

  function resolveOutputs(scope: Scope): Output[] {
    const outputs: Output[] = [];
    for (const [key, output] of Object.entries(scope.template.Outputs ?? {})) {
      if (output.Condition !== undefined && !evaluateCondition({ Condition: output.Condition }, scope))
        continue;
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

  /** Deletes resources in the given order; a failed resource keeps everything it depends on. */
  async function deleteResources(
    stack: StackState,
    order: string[],
    plan: Plan,
    retained: (id: string) => boolean,
  ): Promise<{ logicalId: string; reason: string }[]> {
    const failed: { logicalId: string; reason: string }[] = [];
    const blocked = new Set<string>();
    for (const id of order) {
      const resource = stack.resources.get(id);
      if (!resource || blocked.has(id)) continue;
      if (retained(id)) {
        event(stack, id, resource.type, 'DELETE_SKIPPED', resource.physicalId);
        stack.resources.delete(id);
        continue;
      }
      event(stack, id, resource.type, 'DELETE_IN_PROGRESS', resource.physicalId);
      try {
        await handlerFor(resource.type).delete(resource);
        event(stack, id, resource.type, 'DELETE_COMPLETE', resource.physicalId);
        stack.resources.delete(id);
      } catch (error) {
        const reason = errorText(error);
        event(stack, id, resource.type, 'DELETE_FAILED', resource.physicalId, reason);
        failed.push({ logicalId: id, reason });
        dependenciesOf(id, plan, blocked);
      }
    }
    return failed;
  }

  function takeFailure(stack: StackState): (logicalId: string) => void {
    const failure = failures.get(stack.name);
    failures.delete(stack.name);
    return (logicalId) => {
      if (failure?.logicalId === logicalId) throw new Error(failure.reason);
    };
  }

  async function createResources(stack: StackState): Promise<void> {
    const failAt = takeFailure(stack);
    const scope = scopeOf(stack, stack.template, stack.parameters, stack.resources);
    const plan = planResources(stack.template, scope);
    let current = stack.name;
    let type = 'AWS::CloudFormation::Stack';
    try {
      for (const id of plan.order) {
        const definition = stack.template.Resources[id]!;
        [current, type] = [id, definition.Type];
        event(stack, id, type, 'CREATE_IN_PROGRESS');
        const properties = resolve(definition.Properties ?? {}, scope) as Props;
        failAt(id);
        const created = await handlerFor(type).create(properties, {
          stackName: stack.name,
          logicalId: id,
          region,
          account,
        });
        stack.resources.set(id, { ...created, type, properties });
        event(stack, id, type, 'CREATE_COMPLETE', created.physicalId);
      }
      stack.outputs = resolveOutputs(scope);
      setStatus(stack, 'CREATE_COMPLETE');
    } catch (error) {
      const detail = errorText(error);
      event(stack, current, type, 'CREATE_FAILED', undefined, detail);
      const reason = `The following resource(s) failed to create: [${current}]. ${current}: ${detail}`;
      setStatus(stack, 'ROLLBACK_IN_PROGRESS', reason);
      const policy = (id: string) => stack.template.Resources[id]?.DeletionPolicy;
      const failed = await deleteResources(
        stack,
        [...plan.order].reverse(),
        plan,
        (id) => policy(id) === 'Retain',
      );
      if (failed.length > 0) {
        setStatus(
          stack,
          'ROLLBACK_FAILED',
          `The following resource(s) failed to delete: [${failed.map((f) => f.logicalId).join(', ')}]. `,
        );
      } else {
        stack.status = 'ROLLBACK_COMPLETE';
        event(stack, stack.name, 'AWS::CloudFormation::Stack', 'ROLLBACK_COMPLETE', stack.id);
      }
    }
  }

  async function updateResources(stack: StackState, input: StackInput): Promise<void> {
    const failAt = takeFailure(stack);
    const before = new Map(stack.resources);
    const oldPlan = planResources(stack.template, scopeOf(stack, stack.template, stack.parameters, before));
    const next = new Map<string, LiveResource>();
    const scope = scopeOf(stack, input.template, input.parameters, next);
    const created: string[] = [];
    const replaced: [string, LiveResource][] = [];
    const changedInPlace: [string, LiveResource][] = [];
    let plan: Plan | undefined;
    let current = stack.name;
    let type = 'AWS::CloudFormation::Stack';
    let failedVerb = 'update';
    try {
      plan = planResources(input.template, scope);
      for (const id of plan.order) {
        const definition = input.template.Resources[id]!;
        [current, type] = [id, definition.Type];
        const properties = resolve(definition.Properties ?? {}, scope) as Props;
        const previous = before.get(id);
        failedVerb = previous ? 'update' : 'create';
        const context = { stackName: stack.name, logicalId: id, region, account };
        if (previous && previous.type === type && canonical(previous.properties) === canonical(properties)) {
          failAt(id);
          next.set(id, previous);
          continue;
        }
        event(stack, id, type, previous ? 'UPDATE_IN_PROGRESS' : 'CREATE_IN_PROGRESS', previous?.physicalId);
        failAt(id);
        const inPlace =
          previous && previous.type === type
            ? await handlerFor(type).update(previous, properties)
            : undefined;
        if (previous && inPlace) {
          next.set(id, { ...inPlace, type, properties });
          changedInPlace.push([id, previous]);
          event(stack, id, type, 'UPDATE_COMPLETE', inPlace.physicalId);
          continue;
        }
        const fresh = await handlerFor(type).create(properties, context);
        next.set(id, { ...fresh, type, properties });
        if (previous) replaced.push([id, previous]);
        else created.push(id);
        event(stack, id, type, previous ? 'UPDATE_COMPLETE' : 'CREATE_COMPLETE', fresh.physicalId);
      }
      const outputs = resolveOutputs(scope);
      setStatus(stack, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS');
      // Old resources leave the stack after the new ones are in place, like CloudFormation's cleanup phase.
      const removed = new Map([...before].filter(([id]) => !next.has(id)));
      stack.resources = removed;
      const policy = (id: string) => stack.template.Resources[id]?.DeletionPolicy ?? '';
      await deleteResources(stack, [...oldPlan.order].reverse(), oldPlan, (id) =>
        policy(id).startsWith('Retain'),
      );
      for (const [id, old] of replaced) {
        if (stack.template.Resources[id]?.UpdateReplacePolicy === 'Retain') continue;
        await handlerFor(old.type)
          .delete(old)
          .catch((error) => event(stack, id, old.type, 'DELETE_FAILED', old.physicalId, errorText(error)));
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
      event(
        stack,
        current,
        type,
        failedVerb === 'create' ? 'CREATE_FAILED' : 'UPDATE_FAILED',
        undefined,
        detail,
      );
      const reason = `The following resource(s) failed to ${failedVerb}: [${current}]. ${current}: ${detail}`;
      setStatus(stack, 'UPDATE_ROLLBACK_IN_PROGRESS', reason);
      for (const [id, previous] of changedInPlace.reverse()) {
        const now = next.get(id)!;
        await handlerFor(previous.type).update(now, previous.properties);
      }
      setStatus(stack, 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', reason);
      stack.resources = new Map([...created, ...replaced.map(([id]) => id)].map((id) => [id, next.get(id)!]));
      const policy = (id: string) => input.template.Resources[id]?.DeletionPolicy;
      const emptyPlan: Plan = plan ?? { order: [], deps: new Map() };
      await deleteResources(
        stack,
        [...stack.resources.keys()].reverse(),
        emptyPlan,
        (id) => policy(id) === 'Retain',
      );
      stack.resources = before;
      stack.status = 'UPDATE_ROLLBACK_COMPLETE';
      event(stack, stack.name, 'AWS::CloudFormation::Stack', 'UPDATE_ROLLBACK_COMPLETE', stack.id);
    }
  }

  async function deleteStack(stack: StackState, retainedOnRequest: string[]): Promise<void> {
    stack.deleteQueued = false;
    if (stack.status !== 'DELETE_IN_PROGRESS') setStatus(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
    const plan = planResources(
      stack.template,
      scopeOf(stack, stack.template, stack.parameters, stack.resources),
    );
    const order = [...new Set([...plan.order, ...stack.resources.keys()])].reverse();
    const policy = (id: string) => stack.template.Resources[id]?.DeletionPolicy ?? '';
    const failed = await deleteResources(
      stack,
      order,
      plan,
      (id) => policy(id).startsWith('Retain') || retainedOnRequest.includes(id),
    );
    if (failed.length > 0) {
      const detail = failed.map((f) => `${f.logicalId}: ${f.reason}`).join('; ');
      const ids = failed.map((f) => f.logicalId).join(', ');
      setStatus(stack, 'DELETE_FAILED', `The following resource(s) failed to delete: [${ids}]. ${detail}`);
      return;
    }
    setStatus(stack, 'DELETE_COMPLETE');
    stack.deletedAt = new Date();
  }

  function schedule(stack: StackState, work: () => Promise<void>, failedStatus: string) {
    stack.work = stack.work
      .then(() => sleep(delayMs))
      .then(work)
      .catch((error: unknown) => setStatus(stack, failedStatus, `Emulator error: ${errorText(error)}`));
  }

  async function templateOf(form: URLSearchParams): Promise<Template | undefined> {
    const body = form.get('TemplateBody');
    if (body) return parseTemplate(body);
    const url = form.get('TemplateURL');
    if (!url) return undefined;
    const location = s3Location(url);
    const invalid = validation('TemplateURL must be a supported URL.');
    if (!location) throw invalid;
    try {
      const out = await options.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return parseTemplate(await out.Body!.transformToString());
    } catch (error) {
      if (error instanceof CloudFormationError) throw error;
      throw validation(
        `TemplateURL must reference a valid S3 object to which you have access. (${errorText(error)})`,
      );
    }
  }

  function readParameters(form: URLSearchParams, previous?: Record<string, string>): Record<string, string> {
    const given: Record<string, string> = {};
    for (const member of members(form, 'Parameters')) {
      const key = member.ParameterKey ?? '';
      if (member.UsePreviousValue === 'true') {
        const value = previous?.[key];
        if (value === undefined)
          throw validation(
            `Invalid input for parameter key ${key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`,
          );
        given[key] = value;
      } else given[key] = member.ParameterValue ?? '';
    }
    return given;
  }

  function readInput(
    form: URLSearchParams,
    name: string,
    template: Template,
    previous?: StackState,
  ): StackInput {
    const parameters = validateParameters(template, readParameters(form, previous?.parameters));
    const capabilities = members(form, 'Capabilities').map((m) => m[''] ?? '');
    checkCapabilities(template, capabilities);
    const tags = hasList(form, 'Tags')
      ? Object.fromEntries(members(form, 'Tags').map((m) => [m.Key ?? '', m.Value ?? '']))
      : undefined;
    const input: StackInput = {
      template,
      parameters,
      tags,
      capabilities,
      roleArn: form.get('RoleARN') ?? previous?.roleArn,
    };
    // Catches cycles and bad conditions now, as CloudFormation's validation does, not in the background.
    planResources(template, scopeOf(previous ?? { name, id: '' }, template, parameters, new Map()));
    return input;
  }

  function describe(stack: StackState) {
    const declared = stack.template.Parameters ?? {};
    return {
      StackId: stack.id,
      StackName: stack.name,
      Description: stack.template.Description,
      Parameters: Object.entries(stack.parameters).map(([key, value]) => ({
        ParameterKey: key,
        ParameterValue: String(declared[key]?.NoEcho) === 'true' ? '****' : value,
      })),
      CreationTime: stack.createdAt,
      DeletionTime: stack.deletedAt,
      LastUpdatedTime: stack.updatedAt,
      StackStatus: stack.status,
      StackStatusReason: stack.statusReason,
      DisableRollback: false,
      Capabilities: stack.capabilities,
      Outputs: stack.outputs.map((o) => ({
        OutputKey: o.key,
        OutputValue: o.value,
        Description: o.description,
        ExportName: o.exportName,
      })),
      RoleARN: stack.roleArn,
      Tags: Object.entries(stack.tags).map(([Key, Value]) => ({ Key, Value })),
      EnableTerminationProtection: false,
      DriftInformation: { StackDriftStatus: 'NOT_CHECKED' },
    };
  }

  const actions: Record<string, (form: URLSearchParams) => Promise<unknown>> = {
    async CreateStack(form) {
      const name = form.get('StackName') ?? '';
      if (!/^[a-zA-Z][-a-zA-Z0-9]{0,127}$/.test(name)) {
        throw validation(
          `1 validation error detected: Value '${name}' at 'stackName' failed to satisfy constraint`,
        );
      }
      if (live(name))
        throw new CloudFormationError('AlreadyExistsException', `Stack [${name}] already exists`);
      const template = await templateOf(form);
      if (!template) throw validation('Either Template URL or Template Body must be specified.');
      const input = readInput(form, name, template);
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
      stacks.push(stack);
      setStatus(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
      schedule(stack, () => createResources(stack), 'ROLLBACK_FAILED');
      return { StackId: stack.id };
    },

    async UpdateStack(form) {
      const name = form.get('StackName') ?? '';
      const stack = byNameOrId(name);
      if (!stack || stack.deletedAt) throw validation(`Stack [${name}] does not exist`);
      if (!UPDATABLE.has(stack.status) || stack.deleteQueued) {
        throw validation(`Stack:${stack.id} is in ${stack.status} state and can not be updated.`);
      }
      const template = form.get('UsePreviousTemplate') === 'true' ? stack.template : await templateOf(form);
      if (!template) throw validation('Either Template URL or Template Body must be specified.');
      const input = readInput(form, name, template, stack);
      const unchanged =
        canonical(template) === canonical(stack.template) &&
        canonical(input.parameters) === canonical(stack.parameters) &&
        (input.tags === undefined || canonical(input.tags) === canonical(stack.tags));
      if (unchanged) throw validation('No updates are to be performed.');
      setStatus(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
      schedule(stack, () => updateResources(stack, input), 'UPDATE_ROLLBACK_FAILED');
      return { StackId: stack.id };
    },

    async DeleteStack(form) {
      const stack = byNameOrId(form.get('StackName') ?? '');
      if (!stack || stack.deletedAt || stack.deleteQueued || stack.status === 'DELETE_IN_PROGRESS') return {};
      const retained = members(form, 'RetainResources').map((m) => m[''] ?? '');
      stack.deleteQueued = true;
      // Behind a running operation the delete waits its turn, as when CloudFormation cancels an update.
      if (!stack.status.endsWith('_IN_PROGRESS')) setStatus(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
      schedule(stack, () => deleteStack(stack, retained), 'DELETE_FAILED');
      return {};
    },

    async DescribeStacks(form) {
      const name = form.get('StackName');
      if (!name) return { Stacks: stacks.filter((s) => !s.deletedAt).map(describe) };
      const stack = byNameOrId(name);
      if (!stack) throw validation(`Stack with id ${name} does not exist`);
      return { Stacks: [describe(stack)] };
    },

    async DescribeStackEvents(form) {
      const name = form.get('StackName') ?? '';
      const stack = byNameOrId(name);
      if (!stack) throw validation(`Stack [${name}] does not exist`);
      return {
        StackEvents: [...stack.events].reverse().map((e) => ({
          StackId: stack.id,
          EventId: e.id,
          StackName: stack.name,
          LogicalResourceId: e.logicalId,
          PhysicalResourceId: e.physicalId,
          ResourceType: e.type,
          Timestamp: e.at,
          ResourceStatus: e.status,
          ResourceStatusReason: e.reason,
        })),
      };
    },
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const action = form.get('Action') ?? '';
    calls.push({ action, stackName: form.get('StackName') ?? undefined });
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

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    stack(name) {
      const stack = live(name);
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
      failures.set(stackName, { logicalId, reason });
    },
    async close() {
      // Let running stack operations finish: they talk to emulators the caller is about to stop.
      await Promise.all(stacks.map((s) => s.work));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
