import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { zipSync } from 'fflate';

/**
 * The Lambda handlers and where their bundles go: `dist/lambda/{name}/index.mjs`, the CDK app's code
 * assets (`code: { kind: 'asset', apiDir, modelDir, webhooksDir, controlDir, notificationsDir }`).
 */
export const LAMBDAS = {
  api: 'src/entry/lambda-api.ts',
  model: 'src/entry/lambda-function.ts',
  webhooks: 'src/entry/lambda-webhooks.ts',
  control: 'src/entry/lambda-control.ts',
  notifications: 'src/entry/lambda-notifications.ts',
} as const;

const root = fileURLToPath(new URL('..', import.meta.url));
export const LAMBDA_DIST = join(root, 'dist', 'lambda');
// Native SQLite must never reach a Lambda bundle (ARCHITECTURE: adapters stay behind their entry points).
const FORBIDDEN = /better-sqlite3|node_modules\/bindings\//;
// CommonJS dependencies call require() and read files next to __dirname; an ESM bundle has neither.
// __dirname points at `swagger-ui/lib`: @fastify/swagger-ui reads `./static/logo.svg` from its root and
// serves `../static` from `lib/`, both copied there below. No other bundled module reads files.
const BANNER = [
  "import { createRequire as __cr } from 'node:module';",
  "import { fileURLToPath as __fu } from 'node:url';",
  'const require = __cr(import.meta.url);',
  "const __dirname = __fu(new URL('./swagger-ui/lib', import.meta.url));",
  "const __filename = __fu(new URL('./swagger-ui/lib/index.js', import.meta.url));",
].join(' ');
const SWAGGER_STATIC = join(root, 'node_modules', '@fastify', 'swagger-ui', 'static');
/** Zipped-size targets: running this script fails over them; the API carries Swagger UI. */
export const ZIPPED_LIMIT = {
  api: 5 * 1024 * 1024,
  model: 2 * 1024 * 1024,
  webhooks: 2 * 1024 * 1024,
  control: 2 * 1024 * 1024,
  notifications: 2 * 1024 * 1024,
};

export interface BundleReport {
  name: keyof typeof LAMBDAS;
  bytes: number;
  zippedBytes: number;
}

export async function bundleLambdas(): Promise<BundleReport[]> {
  const reports: BundleReport[] = [];
  for (const [name, entry] of Object.entries(LAMBDAS) as [keyof typeof LAMBDAS, string][]) {
    const outdir = join(LAMBDA_DIST, name);
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir, { recursive: true });
    const result = await build({
      entryPoints: [join(root, entry)],
      outfile: join(outdir, 'index.mjs'),
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'esm',
      minify: true,
      metafile: true,
      legalComments: 'none',
      banner: { js: BANNER },
      logLevel: 'warning',
    });
    assertNoSqlite(name, result.metafile);
    if (Object.keys(result.metafile.inputs).some((path) => path.includes('@fastify/swagger-ui'))) {
      cpSync(SWAGGER_STATIC, join(outdir, 'swagger-ui', 'static'), { recursive: true });
      cpSync(join(SWAGGER_STATIC, 'logo.svg'), join(outdir, 'swagger-ui', 'lib', 'static', 'logo.svg'));
    }
    const files = filesUnder(outdir);
    const zipped = zipSync(
      Object.fromEntries(files.map((file) => [relative(outdir, file), readFileSync(file)])),
      { level: 9 },
    );
    writeFileSync(join(LAMBDA_DIST, `${name}.zip`), zipped);
    const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
    reports.push({ name, bytes, zippedBytes: zipped.byteLength });
  }
  return reports;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function assertNoSqlite(name: string, metafile: Metafile): void {
  const offenders = Object.keys(metafile.inputs).filter((path) => FORBIDDEN.test(path));
  if (offenders.length > 0) {
    throw new Error(`The ${name} Lambda bundle pulls in SQLite: ${offenders.join(', ')}`);
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const reports = await bundleLambdas();
  for (const r of reports) console.log(`${r.name}: ${mb(r.bytes)} unzipped, ${mb(r.zippedBytes)} zipped`);
  const over = reports.filter((r) => r.zippedBytes > ZIPPED_LIMIT[r.name]);
  if (over.length > 0) {
    console.error(
      `Over the zipped-size target: ${over.map((r) => `${r.name} ${mb(r.zippedBytes)}`).join(', ')}`,
    );
    process.exit(1);
  }
}
