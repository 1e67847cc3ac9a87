/** Variables a forked function or compute process keeps, by exact name. */
const KEPT = new Set([
  'PATH',
  'HOME',
  'USER',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TZ',
  'LANG',
  'LANGUAGE',
  'FORCE_COLOR',
  'NO_COLOR',
  'UV_THREADPOOL_SIZE',
  // The one platform setting the function process reads (src/entry/function-process.ts).
  'SILOPOOL_DURABILITY',
]);
/**
 * And by prefix: locale (`LC_*`), Node's own (`NODE_OPTIONS`, `NODE_EXTRA_CA_CERTS`, `NODE_V8_COVERAGE`…),
 * OpenTelemetry's exporter settings (`OTEL_*`: the process exports its own traces, docs/operations.md), and
 * the TypeScript loader's when it runs from sources (`TSX_*`, `ESBUILD_*`).
 */
const KEPT_PREFIXES = ['LC_', 'NODE_', 'OTEL_', 'TSX_', 'ESBUILD_'];

/**
 * The environment a dedicated function process or a compute process is forked with: the server's, keeping
 * only what Node and those processes read (KEPT, KEPT_PREFIXES). They run a release's model code (a tenant's
 * own variant among it), which could read anything in `process.env`: the server's secrets (the VAPID private
 * key, AWS credentials, an OIDC client secret, whatever else the operator set) are not theirs to hold.
 * @param env the server's environment (`process.env` by default); not changed
 * @returns a new object with the kept variables
 */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (KEPT.has(name) || KEPT_PREFIXES.some((prefix) => name.startsWith(prefix))) kept[name] = value;
  }
  return kept;
}
