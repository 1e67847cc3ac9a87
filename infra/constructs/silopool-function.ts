import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { CodeSource } from '../config.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ENTRIES = {
  api: 'src/entry/lambda-api.ts',
  model: 'src/entry/lambda-function.ts',
  webhooks: 'src/entry/lambda-webhooks.ts',
  control: 'src/entry/lambda-control.ts',
  notifications: 'src/entry/lambda-notifications.ts',
} as const;
// Same banner as scripts/bundle-lambdas.ts: CommonJS dependencies in an ESM bundle.
const BANNER = [
  "import { createRequire as __cr } from 'node:module';",
  "import { fileURLToPath as __fu } from 'node:url';",
  'const require = __cr(import.meta.url);',
  "const __dirname = __fu(new URL('./swagger-ui/lib', import.meta.url));",
  "const __filename = __fu(new URL('./swagger-ui/lib/index.js', import.meta.url));",
].join(' ');

export interface SilopoolFunctionProps {
  entry: keyof typeof ENTRIES;
  /** The bundle's export that Lambda calls; `handler` unless the bundle has another function too. */
  handler?: string;
  code: CodeSource;
  environment: Record<string, string>;
  memoryMb: number;
  timeoutSec: number;
  reservedConcurrency?: number;
  role?: iam.IRole;
}

/** A Lambda function running one of the entry points on nodejs22.x, with its log group and X-Ray tracing. */
export class SilopoolFunction extends Construct {
  readonly fn: lambda.Function;

  constructor(scope: Construct, id: string, props: SilopoolFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH });
    const common = {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memoryMb,
      timeout: Duration.seconds(props.timeoutSec),
      // OTEL_SERVICE_NAME names the spans; OTLP export starts when the collector layer's endpoint is set.
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        OTEL_SERVICE_NAME: `silopool-${props.entry}`,
        ...props.environment,
      },
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      ...(props.role ? { role: props.role } : {}),
    };
    // A role given by the stack is not CDK's default one: it needs write access to the log group itself.
    if (props.role) logGroup.grantWrite(props.role);
    if (props.code.kind === 'bucket') {
      // A published model bundle (the tenant template's CodeBucket/CodeKey): no asset, no bootstrap bucket.
      if (props.entry !== 'model') {
        throw new Error(`A bucket code source holds the model bundle only, not the ${props.entry} function.`);
      }
      const bucket = s3.Bucket.fromBucketName(this, 'CodeBucket', props.code.bucket);
      this.fn = new lambda.Function(this, 'Function', {
        ...common,
        handler: 'index.handler',
        code: lambda.Code.fromBucket(bucket, props.code.key),
      });
      return;
    }
    if (props.code.kind === 'asset') {
      this.fn = new lambda.Function(this, 'Function', {
        ...common,
        handler: `index.${props.handler ?? 'handler'}`,
        code: lambda.Code.fromAsset(assetDir(props.code, props.entry)),
      });
      return;
    }
    const swaggerStatic = join(root, 'node_modules', '@fastify', 'swagger-ui', 'static');
    this.fn = new NodejsFunction(this, 'Function', {
      ...common,
      entry: join(root, ENTRIES[props.entry]),
      handler: props.handler ?? 'handler',
      projectRoot: root,
      depsLockFilePath: join(root, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: false,
        banner: BANNER,
        // Bundle the SDK too: the version tested is the version deployed.
        externalModules: [],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) =>
            props.entry === 'api'
              ? [
                  `cp -r "${swaggerStatic}" "${output}/swagger-ui/static" 2>/dev/null || (mkdir -p "${output}/swagger-ui" && cp -r "${swaggerStatic}" "${output}/swagger-ui/static")`,
                  `mkdir -p "${output}/swagger-ui/lib/static" && cp "${swaggerStatic}/logo.svg" "${output}/swagger-ui/lib/static/logo.svg"`,
                ]
              : [],
        },
      },
    });
  }
}

// Older configurations name only the api and model folders: the others fall back to the model folder.
function assetDir(code: Extract<CodeSource, { kind: 'asset' }>, entry: keyof typeof ENTRIES): string {
  switch (entry) {
    case 'api':
      return code.apiDir;
    case 'webhooks':
      return code.webhooksDir ?? code.modelDir;
    case 'control':
      return code.controlDir ?? code.modelDir;
    case 'notifications':
      return code.notificationsDir ?? code.modelDir;
    case 'model':
      return code.modelDir;
  }
}
