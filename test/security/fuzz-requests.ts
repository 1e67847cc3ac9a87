import fc from 'fast-check';
import { bodyFor, type Part } from './fuzz-bodies.ts';
import type { CredentialClass } from './fuzz-credentials.ts';
import { HOSTILE_STRINGS, jsonText, type Schema, validFor, wrongTypeFor } from './fuzz-values.ts';

export type Audience = 'public' | 'tenant' | 'operator';

export interface SpecParam {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: Schema;
}

const tenantIdLike = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/);

/** One operation of the OpenAPI document. */
export interface SpecRoute {
  method: string;
  template: string;
  audience: Audience;
  params: SpecParam[];
  body?: Schema;
}

const PUBLIC = new Set(['GET /healthz', 'GET /v1/auth/config']);

/** Every operation `/docs/json` lists, with the audience its path implies (the audience test checks that). */
export function routesFromSpec(spec: { paths: Record<string, Record<string, Record<string, unknown>>> }) {
  return Object.entries(spec.paths).flatMap(([template, operations]) =>
    Object.entries(operations).map(([m, op]): SpecRoute => {
      const method = m.toUpperCase();
      const content = (op['requestBody'] as { content?: Record<string, { schema: Schema }> } | undefined)
        ?.content;
      const body = content?.['application/json']?.schema;
      return {
        method,
        template,
        audience: PUBLIC.has(`${method} ${template}`)
          ? 'public'
          : template.startsWith('/v1/admin') || template === '/metrics'
            ? 'operator'
            : 'tenant',
        params: (op['parameters'] ?? []) as SpecParam[],
        ...(body ? { body } : {}),
      };
    }),
  );
}

/** What the fuzz knows of the server: the ids it uses as valid values, and each credential class. */
export interface FuzzWorld {
  a: string;
  b: string;
  /** Tenants operator requests may change or remove, by route: A and B are never the target of those. */
  spare: { remove: string[]; offboard: string[]; change: string[] };
  jobs: { a: string[]; b: string[] };
  artifacts: string[];
  operations: string[];
  queues: string[];
  cursors: string[];
  /** Input schema of each model, as `/v1/models` serves it. */
  models: Record<string, Schema>;
  /** `authorization` header values of each class; none for `none`. */
  authorizations: Record<CredentialClass, string[]>;
}

export interface FuzzRequest {
  credential: CredentialClass;
  method: string;
  /** As sent on the wire, percent-encoding and all. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Generator settings that keep away from faults other changes own, so this fuzz stays green until they
 * land; each names what it avoids and is listed in the report to re-enable after the merge.
 */
/** Webhook targets: public https, internal addresses (refused, 400), other schemes and junk. */
const webhookUrl = fc.oneof(
  fc.webPath().map((p) => `https://hooks.example.invalid${p}`),
  fc.constantFrom(
    'http://169.254.169.254/latest/meta-data/',
    'http://2130706433/',
    'https://[::ffff:169.254.169.254]/',
    'https://10.0.0.1/',
    'https://metadata.google.internal/',
    'https://0.0.0.0/',
    'https://[::1]/',
    'https://user:pass@hooks.example.invalid/',
    'https://localhost/',
    'https://127.1/',
  ),
  fc.constantFrom(...HOSTILE_STRINGS),
  fc.constantFrom(
    'javascript:alert(1)',
    'file:///etc/passwd',
    'ftp://x.invalid/',
    'gopher://x',
    '//x.invalid',
  ),
);

/**
 * Generators of body fields by name: ids and queues the server knows, so valid bodies get past lookups; a
 * `funds` job with 100,000 simulations is valid but costs seconds of CPU (the fuzz is bounded in time);
 * webhook URLs include internal targets, which registration refuses.
 */
function overrides(world: FuzzWorld): Record<string, fc.Arbitrary<unknown>> {
  return {
    id: tenantIdLike,
    tenants: fc.array(fc.constantFrom(world.a, world.b, ...world.spare.change), { maxLength: 3 }),
    tenantIds: fc.array(fc.constantFrom(...world.spare.change), { maxLength: 2 }),
    queue: fc.constantFrom(...world.queues),
    simulations: fc.integer({ min: 0, max: 50 }),
    url: webhookUrl,
  };
}

const headerSafe = (s: string) => (/^[\t\x20-\x7e\x80-\xff]*$/.test(s) ? s : encodeURIComponent(s));

/** Path segments as sent: encoded slashes, dot segments, NUL, overlong UTF-8, prototype names, very long. */
const hostileSegment = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '..%2F..%2Fetc%2Fpasswd',
    '%2F',
    'a%2Fb',
    '%252F',
    '%5C..%5C',
    '%00',
    'a%00b',
    '__proto__',
    'constructor',
    'prototype',
    'hasOwnProperty',
    'NaN',
    'Infinity',
    '-1',
    '0',
    '1e309',
    '9'.repeat(100),
    'x'.repeat(101),
    'x'.repeat(3000),
    '%C0%AF',
    '%E0%A4%A',
    '%FF',
    '%F0%9F%92%A5',
    '%20',
    'null',
    'undefined',
    '%5B%5D',
    '*',
    '~',
    '%27',
    '%22',
    'A',
    'a;b=c',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
);

const jobIdLike = fc.stringMatching(/^j_[0-9a-hjkmnp-tv-z]{26}$/);

function segmentPart(
  route: SpecRoute,
  name: string,
  world: FuzzWorld,
  credential: CredentialClass,
): Part<string> {
  const one = (...values: string[]) => (values.length ? [fc.constantFrom(...values)] : []);
  let valid: fc.Arbitrary<string>[];
  if (name === 'model') valid = one(...Object.keys(world.models));
  else if (name === 'name') valid = one('workbook.xlsx', ...world.artifacts);
  else if (route.template.startsWith('/v1/jobs/'))
    valid = [...one(...world.jobs.a, ...world.jobs.b), jobIdLike];
  else if (route.template.startsWith('/v1/admin/operations/'))
    valid = [...one(...world.operations), fc.uuid()];
  else if (route.template.startsWith('/v1/admin/tenants/')) {
    const targets =
      route.method === 'DELETE'
        ? world.spare.remove
        : route.template.endsWith('/offboard')
          ? world.spare.offboard
          : world.spare.change;
    // An operator's requests (whose method may be swapped for DELETE) name spare tenants only, so A and B
    // are still there to check at the end.
    valid = [...one(...targets), tenantIdLike, ...(credential === 'operator' ? [] : one(world.a, world.b))];
  } else valid = [fc.string({ minLength: 1, maxLength: 10 }).map(encodeURIComponent)];
  const near = route.template.startsWith('/v1/jobs/')
    ? [...world.jobs.a, ...world.jobs.b].flatMap((j) => oddIds(j, true))
    : route.template.startsWith('/v1/admin/tenants/')
      ? [world.a, world.b].flatMap((t) => oddIds(t, credential !== 'operator'))
      : [];
  return { valid: fc.oneof(...valid), hostile: fc.oneof(hostileSegment, ...one(...near)) };
}

/**
 * Ids next to a real one: a prefix (`a1` of `a1-x`), an extension, another case; with `spelled`, also
 * spellings a lax parser might turn back into the id. An operator's requests get only ids that cannot be the
 * real one, so a swapped DELETE never removes tenant A.
 */
function oddIds(id: string, spelled: boolean): string[] {
  const near = [id.slice(0, -1), `${id}-x`, `${id}x`, id.toUpperCase()];
  return spelled ? [...near, `%20${id}`, `${id}%00`, `${id}%2F..`, `..%2F${id}`, `${id};x`] : near;
}

const QUERY_EXTRAS: [string, string][] = [
  ['__proto__', 'x'],
  ['constructor[prototype][polluted]', '1'],
  ['__proto__[polluted]', '1'],
  ['x', ''],
  ['', ''],
  ['limit[]', '5'],
];

function queryPart(route: SpecRoute, world: FuzzWorld): Part<string> {
  const params = route.params.filter((p) => p.in === 'query');
  const validValue = (p: SpecParam): fc.Arbitrary<string> => {
    const known = p.name === 'cursor' ? world.cursors : p.name === 'queue' ? world.queues : [];
    return known.length ? fc.constantFrom(...known) : validFor(p.schema).map(String);
  };
  const hostileValue = (p: SpecParam): fc.Arbitrary<string> =>
    fc.oneof(
      wrongTypeFor(p.schema).map((v) => jsonText(v)),
      fc.constantFrom(...HOSTILE_STRINGS),
      validFor({ type: 'string', maxLength: 60 }).map(String),
    );
  const pairsOf = (value: (p: SpecParam) => fc.Arbitrary<string>, repeat: number) =>
    fc.tuple(
      ...params.map((p) => {
        const values = fc
          .array(value(p), { minLength: 1, maxLength: repeat })
          .map((vs) => vs.map((v) => [p.name, v]));
        return p.required ? values : fc.option(values, { nil: [] });
      }),
    );
  const render = (pairs: string[][][], extras: [string, string][], raw: boolean, odd: string) => {
    const all = [...pairs.flat(), ...extras] as [string, string][];
    const encode = (s: string) =>
      raw ? headerSafe(s).replace(/[\s#%&?]/g, encodeURIComponent) : encodeURIComponent(s);
    const text = all.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&') + odd;
    return text ? `?${text}` : '';
  };
  return {
    valid: pairsOf(validValue, 1).map((pairs) => render(pairs, [], false, '')),
    hostile: fc
      .record({
        pairs: pairsOf((p) => fc.oneof(validValue(p), hostileValue(p)), 2),
        extras: fc.subarray(QUERY_EXTRAS),
        raw: fc.boolean(),
        odd: fc.constantFrom('', '&', '&&', '='),
      })
      .map(({ pairs, extras, raw, odd }) => render(pairs, extras, raw, odd)),
  };
}

function headerPart(
  route: SpecRoute,
  world: FuzzWorld,
  credential: CredentialClass,
): Part<Record<string, string>> {
  const own = credential.startsWith('tenant A')
    ? world.a
    : credential.startsWith('tenant B')
      ? world.b
      : undefined;
  const idempotency = route.params.some((p) => p.in === 'header' && p.name === 'idempotency-key');
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const headers = (parts: {
    tenant?: string | undefined;
    key?: string | undefined;
    accept?: string | undefined;
  }) => {
    const out: Record<string, string> = {};
    if (parts.tenant !== undefined) out['x-tenant-id'] = headerSafe(parts.tenant);
    if (parts.key !== undefined && idempotency) out['idempotency-key'] = headerSafe(parts.key);
    if (parts.accept !== undefined) out['accept'] = parts.accept;
    return out;
  };
  // A few keys every credential uses: a key is the tenant's own, so B reusing A's key must not get A's job.
  const validKey = fc.oneof(
    fc.constantFrom('fuzz-key-1', 'fuzz-key-2'),
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,16}$/),
  );
  return {
    valid: fc
      .record({
        tenant: own ? optional(fc.constant(own)) : fc.constant(undefined),
        key: optional(validKey),
        accept: optional(fc.constantFrom('application/json', 'text/event-stream', '*/*')),
      })
      .map(headers),
    hostile: fc
      .record({
        tenant: optional(
          fc.oneof(
            fc.constantFrom(world.a, world.b, ...world.spare.change),
            fc.constantFrom(...[world.a, world.b].flatMap((t) => oddIds(t, false))),
            fc.constantFrom(...HOSTILE_STRINGS),
          ),
        ),
        key: optional(fc.oneof(validKey, fc.constantFrom(...HOSTILE_STRINGS))),
        accept: optional(
          fc.constantFrom('text/html', 'application/xml', '', 'application/json;q=0', '*/*;q=x'),
        ),
      })
      .map(headers),
  };
}

/** The body schema of a route; job submits are `{ input, priority }` with the model's input schema. */
function schemaOf(route: SpecRoute, world: FuzzWorld, model: string): Schema | undefined {
  if (route.template === '/v1/models/{model}/jobs') {
    return {
      type: 'object',
      required: ['input'],
      properties: {
        input: world.models[model] ?? { type: 'object' },
        priority: { type: 'integer', minimum: 0, maximum: 9 },
      },
    };
  }
  return route.body;
}

type Aspect = 'method' | 'segments' | 'query' | 'headers' | 'body';
const ASPECTS: Aspect[] = ['method', 'segments', 'query', 'headers', 'body'];

/** Which parts of a request are hostile: often one, sometimes none (a valid request), two or more. */
const mutations: fc.Arbitrary<ReadonlySet<Aspect>> = fc
  .oneof(
    { weight: 2, arbitrary: fc.constant([] as Aspect[]) },
    { weight: 6, arbitrary: fc.constantFrom(...ASPECTS.filter((a) => a !== 'method')).map((a) => [a]) },
    { weight: 1, arbitrary: fc.constant(['method'] as Aspect[]) },
    { weight: 1, arbitrary: fc.subarray(ASPECTS, { minLength: 2 }) },
  )
  .map((aspects) => new Set(aspects));

/** A method the route was not registered with; HEAD of a GET route runs the route itself. */
function otherMethod(route: SpecRoute): fc.Arbitrary<string> {
  const others = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => m !== route.method);
  return route.method === 'GET'
    ? fc.oneof(fc.constant('HEAD'), fc.constantFrom(...others))
    : fc.constantFrom(...others);
}

/**
 * Requests for one route with one credential class: a valid request (path, query, headers, body from the
 * OpenAPI document and the world's ids) with some of its parts replaced by hostile ones.
 */
export function requestFor(route: SpecRoute, world: FuzzWorld, credential: CredentialClass) {
  const names = [...route.template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const sendsBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
  const auth = world.authorizations[credential];
  const pick = <T>(part: Part<T>, hostile: boolean) => (hostile ? part.hostile : part.valid);
  return mutations.chain((hostile) =>
    fc
      .tuple(...names.map((n) => pick(segmentPart(route, n, world, credential), hostile.has('segments'))))
      .chain((segments) => {
        // The submit's model segment and its body go together, so valid inputs reach the model's own checks.
        const named = segments[names.indexOf('model')];
        const model =
          named !== undefined && Object.hasOwn(world.models, named) ? named : Object.keys(world.models)[0]!;
        const body = bodyFor(sendsBody ? schemaOf(route, world, model) : undefined, overrides(world));
        return fc
          .record({
            query: pick(queryPart(route, world), hostile.has('query')),
            headers: pick(headerPart(route, world, credential), hostile.has('headers')),
            body: pick(body, hostile.has('body')),
            authorization: auth.length ? fc.constantFrom(...auth) : fc.constant(undefined),
            method: hostile.has('method') ? otherMethod(route) : fc.constant(route.method),
          })
          .map(({ query, headers, body, authorization, method }): FuzzRequest => {
            let i = 0;
            const path = route.template.replace(/\{\w+\}/g, () => segments[i++]!) + query;
            const all = { ...headers };
            if (authorization !== undefined) all['authorization'] = authorization;
            if (body.contentType !== undefined) all['content-type'] = body.contentType;
            return {
              credential,
              method,
              path,
              headers: all,
              ...(body.text !== undefined ? { body: body.text } : {}),
            };
          });
      }),
  );
}
