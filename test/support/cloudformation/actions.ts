// The CloudFormation API actions the emulator answers (CreateStack, UpdateStack, DeleteStack, DescribeStacks,
// ListStacks, DescribeStackEvents): read and validate a request, start the background operation, describe stacks.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CloudFormationError, errorText, validation } from './errors.ts';
import type { StackLifecycle } from './lifecycle.ts';
import { planResources } from './plan.ts';
import { type StackInput, type StackRegistry, type StackState, setStatus } from './stacks.ts';
import { checkCapabilities, parseTemplate, type Template, validateParameters } from './template.ts';
import { canonical } from './values.ts';
import { type Action, hasList, members } from './wire.ts';

const UPDATABLE = new Set([
  'CREATE_COMPLETE',
  'UPDATE_COMPLETE',
  'UPDATE_ROLLBACK_COMPLETE',
  'IMPORT_COMPLETE',
  'IMPORT_ROLLBACK_COMPLETE',
]);

/** Bucket and key of a TemplateURL, path-style or virtual-hosted. */
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

export function stackActions(options: {
  registry: StackRegistry;
  lifecycle: StackLifecycle;
  /** Where TemplateURLs point. */
  s3: S3Client;
}): Record<string, Action> {
  const { registry, lifecycle, s3 } = options;

  /** The template of TemplateBody or TemplateURL. */
  async function templateOf(form: URLSearchParams): Promise<Template> {
    const body = form.get('TemplateBody');
    if (body) return parseTemplate(body);
    const url = form.get('TemplateURL');
    if (!url) throw validation('Either Template URL or Template Body must be specified.');
    const location = s3Location(url);
    if (!location) throw validation('TemplateURL must be a supported URL.');
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return parseTemplate(await out.Body!.transformToString());
    } catch (error) {
      if (error instanceof CloudFormationError) throw error;
      throw validation(
        `TemplateURL must reference a valid S3 object to which you have access. (${errorText(error)})`,
      );
    }
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
    planResources(template, registry.scopeOf(previous ?? { name, id: '' }, template, parameters, new Map()));
    return input;
  }

  return {
    async CreateStack(form) {
      const name = form.get('StackName') ?? '';
      if (!/^[a-zA-Z][-a-zA-Z0-9]{0,127}$/.test(name)) {
        throw validation(
          `1 validation error detected: Value '${name}' at 'stackName' failed to satisfy constraint`,
        );
      }
      if (registry.live(name))
        throw new CloudFormationError('AlreadyExistsException', `Stack [${name}] already exists`);
      const stack = registry.add(name, readInput(form, name, await templateOf(form)));
      setStatus(stack, 'CREATE_IN_PROGRESS', 'User Initiated');
      lifecycle.startCreate(stack);
      return { StackId: stack.id };
    },

    async UpdateStack(form) {
      const name = form.get('StackName') ?? '';
      const stack = registry.byNameOrId(name);
      if (!stack || stack.deletedAt) throw validation(`Stack [${name}] does not exist`);
      if (!UPDATABLE.has(stack.status) || stack.deleteQueued) {
        throw validation(`Stack:${stack.id} is in ${stack.status} state and can not be updated.`);
      }
      const template = form.get('UsePreviousTemplate') === 'true' ? stack.template : await templateOf(form);
      const input = readInput(form, name, template, stack);
      const unchanged =
        canonical(template) === canonical(stack.template) &&
        canonical(input.parameters) === canonical(stack.parameters) &&
        (input.tags === undefined || canonical(input.tags) === canonical(stack.tags));
      if (unchanged) throw validation('No updates are to be performed.');
      setStatus(stack, 'UPDATE_IN_PROGRESS', 'User Initiated');
      lifecycle.startUpdate(stack, input);
      return { StackId: stack.id };
    },

    async DeleteStack(form) {
      const stack = registry.byNameOrId(form.get('StackName') ?? '');
      if (!stack || stack.deletedAt || stack.deleteQueued || stack.status === 'DELETE_IN_PROGRESS') return {};
      const retained = members(form, 'RetainResources').map((m) => m[''] ?? '');
      stack.deleteQueued = true;
      // Behind a running operation the delete waits its turn, as when CloudFormation cancels an update.
      if (!stack.status.endsWith('_IN_PROGRESS')) setStatus(stack, 'DELETE_IN_PROGRESS', 'User Initiated');
      lifecycle.startDelete(stack, retained);
      return {};
    },

    async DescribeStacks(form) {
      const name = form.get('StackName');
      if (!name) return { Stacks: registry.all.filter((s) => !s.deletedAt).map(describe) };
      const stack = registry.byNameOrId(name);
      if (!stack) throw validation(`Stack with id ${name} does not exist`);
      return { Stacks: [describe(stack)] };
    },

    async ListStacks(form) {
      // Deleted stacks are kept by CloudFormation for 90 days; this emulator forgets them.
      const wanted = members(form, 'StackStatusFilter').map((m) => m[''] ?? '');
      return {
        StackSummaries: registry.all
          .filter((s) => !s.deletedAt && (wanted.length === 0 || wanted.includes(s.status)))
          .map((s) => ({
            StackId: s.id,
            StackName: s.name,
            CreationTime: s.createdAt,
            LastUpdatedTime: s.updatedAt,
            StackStatus: s.status,
          })),
      };
    },

    async DescribeStackEvents(form) {
      const name = form.get('StackName') ?? '';
      const stack = registry.byNameOrId(name);
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
}
