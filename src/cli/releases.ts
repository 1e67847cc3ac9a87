import type { Command } from 'commander';
import { CliError, type OperationJson, type Operator } from './operator.ts';
import { numberIn } from './options.ts';
import { printTable } from './output.ts';
import { showMove } from './placement.ts';

type WithOperator = <T>(
  json: boolean,
  run: (op: Operator) => Promise<T>,
  show: (result: T) => void,
) => Promise<void>;

interface ReleaseJson {
  id: string;
  current: boolean;
  models: Record<string, string>;
  variants: { name: string; tenantId: string }[];
  tenants: string[];
}

/** Releases need the running server: its function processes are replaced as an upgrade goes. */
function server(op: Operator): NonNullable<Operator['request']> {
  if (!op.request) throw new CliError('Releases need the running server (start it, or pass --server).');
  return op.request;
}

/** Polls an operation until it is no longer running: an aborted upgrade ends `failed`, which is the point. */
async function untilEnded(op: Operator, asked: OperationJson): Promise<OperationJson> {
  let current = asked;
  while (current.status === 'running') {
    await new Promise((r) => setTimeout(r, 300));
    current = await op.getOperation(current.id);
  }
  return current;
}

/** `silopool release list|rollout|abort|pin|region`: releases, upgrades in waves, a tenant's pins and region. */
export function addReleaseCommands(program: Command, withOperator: WithOperator): void {
  const release = program.command('release').description('releases of model code, upgrades in waves, pins');

  release
    .command('list')
    .description('releases with their model versions and how many tenants run each')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        async (op) =>
          (await server(op)('GET', '/v1/admin/releases')) as { items: ReleaseJson[]; invalid: unknown[] },
        ({ items }) =>
          printTable(
            ['ID', 'CURRENT', 'MODELS', 'VARIANTS', 'TENANTS'],
            items.map((r) => [
              r.id,
              r.current ? 'yes' : '',
              Object.entries(r.models)
                .map(([m, v]) => `${m}@${v}`)
                .join(' '),
              String(r.variants.length),
              String(r.tenants.length),
            ]),
          ),
      ),
    );

  release
    .command('rollout <id>')
    .description(
      'roll a release to every dedicated tenant in waves (canary first); halts and rolls back by itself',
    )
    .option('--canary <tenant>', 'the canary tenant (default: the first by id)')
    // The ranges of POST /v1/admin/releases/{id}/rollout (src/api/routes/releases.ts).
    .option('--growth <n>', 'each wave is this many times the last (1 to 10)', numberIn(1, 10))
    .option(
      '--observe <seconds>',
      'how long each wave is watched (0 to 86400 s)',
      numberIn(0, 86_400, { unit: 'seconds' }),
    )
    .option(
      '--min-jobs <n>',
      'jobs each tenant must run on the release while watched, else its wave is unobserved (0 to 10000; default 1)',
      numberIn(0, 10_000, { whole: true }),
    )
    .option(
      '--max-observe <seconds>',
      'the longest a wave is watched waiting for those jobs (0 to 604800 s; default 4 x --observe)',
      numberIn(0, 604_800, { unit: 'seconds' }),
    )
    .option('--no-wait', 'start the upgrade and return its operation id')
    .option('--json', 'machine-readable output')
    .action(
      (
        id: string,
        o: {
          canary?: string;
          growth?: number;
          observe?: number;
          minJobs?: number;
          maxObserve?: number;
          wait: boolean;
          json?: boolean;
        },
      ) =>
        withOperator(
          Boolean(o.json),
          async (op) => {
            const started = (await server(op)(
              'POST',
              `/v1/admin/releases/${encodeURIComponent(id)}/rollout`,
              {
                ...(o.canary ? { canary: o.canary } : {}),
                ...(o.growth !== undefined ? { growth: o.growth } : {}),
                ...(o.observe !== undefined ? { observeSec: o.observe } : {}),
                ...(o.minJobs !== undefined ? { minJobs: o.minJobs } : {}),
                ...(o.maxObserve !== undefined ? { maxObserveSec: o.maxObserve } : {}),
              },
            )) as OperationJson;
            return o.wait ? showMove(op, started, Boolean(o.json), 'upgrade') : started;
          },
          (result) => process.stdout.write(`Upgrade ${result.id}: ${result.status}.\n`),
        ),
    );

  release
    .command('abort <operation>')
    .description(
      'abort a running upgrade: its wave in progress is rolled back, and the release is not made current',
    )
    .option('--reason <text>', 'recorded with the abort')
    .option('--no-wait', 'ask for the abort and return at once')
    .option('--json', 'machine-readable output')
    .action((id: string, o: { reason?: string; wait: boolean; json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        async (op) => {
          const asked = (await server(op)('POST', `/v1/admin/rollouts/${encodeURIComponent(id)}/abort`, {
            ...(o.reason !== undefined ? { reason: o.reason } : {}),
          })) as OperationJson;
          return o.wait ? untilEnded(op, asked) : asked;
        },
        (result) =>
          process.stdout.write(
            result.status === 'running'
              ? `Upgrade ${result.id}: abort asked; it stops at its next check.\n`
              : `Upgrade ${result.id}: ${result.status}${result.error ? ` (${result.error.code ?? 'error'}): ${result.error.message}` : ''}\n`,
          ),
      ),
    );

  release
    .command('pin <tenant> [pins...]')
    .description('pin a tenant to model versions (finance@1.1.0 …); none given: unpin all')
    .option('--json', 'machine-readable output')
    .action((tenant: string, pins: string[], o: { json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        async (op) => {
          const parsed = Object.fromEntries(
            pins.map((p) => {
              const [model, version] = p.split('@');
              if (!model || !version) throw new CliError(`"${p}" is not model@version (finance@1.1.0).`);
              return [model, version];
            }),
          );
          return (await server(op)('PUT', `/v1/admin/tenants/${encodeURIComponent(tenant)}/pins`, {
            pins: parsed,
          })) as { id: string; pins?: Record<string, string> };
        },
        (t) =>
          process.stdout.write(
            t.pins
              ? `Tenant ${t.id} is pinned to ${Object.entries(t.pins)
                  .map(([m, v]) => `${m}@${v}`)
                  .join(', ')}.\n`
              : `Tenant ${t.id} follows its release.\n`,
          ),
      ),
    );

  release
    .command('region <tenant> <region>')
    .description("set a tenant's contract region (an AWS Region name; none clears it)")
    .option('--json', 'machine-readable output')
    .action((tenant: string, region: string, o: { json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        async (op) =>
          (await server(op)('PUT', `/v1/admin/tenants/${encodeURIComponent(tenant)}/region`, {
            region: region === 'none' ? null : region,
          })) as { id: string; region?: string },
        (t) => process.stdout.write(`Tenant ${t.id}: region ${t.region ?? "the platform's"}.\n`),
      ),
    );
}
