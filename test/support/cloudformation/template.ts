// A template's shape and the checks CloudFormation makes before any work starts: well-formed JSON, resolvable
// references, parameter values against their constraints, and the IAM capabilities the template needs.
import { CloudFormationError, validation } from './errors.ts';
import { isRecord, text } from './values.ts';

export type Props = Record<string, unknown>;

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

export interface Template {
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

/** Logical ids a value refers to through Ref, Fn::GetAtt and Fn::Sub. */
export function references(value: unknown, out: Set<string>): Set<string> {
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

export function parseTemplate(body: string): Template {
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
    const deps = references(resource.Properties, new Set(dependsOn(resource)));
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

/** Every declared parameter's value (given or default), checked against the parameter's constraints. */
export function validateParameters(
  template: Template,
  given: Record<string, string>,
): Record<string, string> {
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

const insufficient = (capability: string) =>
  new CloudFormationError('InsufficientCapabilitiesException', `Requires capabilities : [${capability}]`);

export function checkCapabilities(template: Template, capabilities: string[]): void {
  const resources = Object.values(template.Resources);
  const named = resources.some((r) => {
    const nameProperty = NAMED_IAM[r.Type];
    return nameProperty !== undefined && r.Properties?.[nameProperty] !== undefined;
  });
  if (named && !capabilities.includes('CAPABILITY_NAMED_IAM')) throw insufficient('CAPABILITY_NAMED_IAM');
  const iam = resources.some((r) => r.Type.startsWith('AWS::IAM::'));
  if (iam && !capabilities.includes('CAPABILITY_IAM') && !capabilities.includes('CAPABILITY_NAMED_IAM')) {
    throw insufficient('CAPABILITY_IAM');
  }
}

/** `DependsOn` as CloudFormation allows it: one logical id or a list of them. */
export function dependsOn(resource: TemplateResource): string[] {
  return typeof resource.DependsOn === 'string' ? [resource.DependsOn] : (resource.DependsOn ?? []);
}
