import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { CodeSource } from '../config.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ENTRIES = {
  api: 'src/entry/lambda-api.ts',
  model: 'src/entry/lambda-function.ts',
  webhooks: 'src/entry/lambda-webhooks.ts',
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
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      ...(props.role ? { role: props.role } : {}),
    };
    // A role given by the stack is not CDK's default one: it needs write access to the log group itself.
    if (props.role) logGroup.grantWrite(props.role);
    if (props.code.kind === 'asset') {
      const dir =
        props.entry === 'api'
          ? props.code.apiDir
          : props.entry === 'webhooks'
            ? (props.code.webhooksDir ?? props.code.modelDir)
            : props.code.modelDir;
      this.fn = new lambda.Function(this, 'Function', {
        ...common,
        handler: 'index.handler',
        code: lambda.Code.fromAsset(dir),
      });
      return;
    }
    const swaggerStatic = join(root, 'node_modules', '@fastify', 'swagger-ui', 'static');
    this.fn = new NodejsFunction(this, 'Function', {
      ...common,
      entry: join(root, ENTRIES[props.entry]),
      handler: 'handler',
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
