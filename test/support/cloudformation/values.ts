// Helpers on the JSON values templates are made of, shared by template analysis, intrinsics and resources.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Canonical JSON (sorted keys), to compare templates and resolved properties. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A value as a string the way CloudFormation writes one: a list comma-joined. */
export function text(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}
