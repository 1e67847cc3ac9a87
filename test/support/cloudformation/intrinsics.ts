// Intrinsic functions and conditions: resolves Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, … in a value
// against one stack's parameters, resources and the exports of other stacks.
import { validation } from './errors.ts';
import type { LiveResource } from './resources.ts';
import type { Props, Template } from './template.ts';
import { canonical, isRecord, text } from './values.ts';

const NO_VALUE = Symbol('AWS::NoValue');

/** What intrinsic functions see while resolving one template of one stack. */
export interface Scope {
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
export function resolve(value: unknown, scope: Scope): unknown {
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

/** Whether a resource or output with this `Condition` (none: always) is part of the stack. */
export function isActive(condition: string | undefined, scope: Scope): boolean {
  return condition === undefined || evaluateCondition({ Condition: condition }, scope);
}
