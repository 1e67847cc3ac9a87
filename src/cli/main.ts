import { Command, Option } from 'commander';
import { SilopoolError } from '../core/errors.ts';
import type { Role } from '../core/principal.ts';
import { DEFAULT_PLAN, PLANS } from '../core/tenant.ts';
import { addBillingCommands } from './billing.ts';
import { confirmDestructive } from './confirm.ts';
import { describeProblem, fileError, problemOf } from './errors.ts';
import { addKeyCommands } from './keys.ts';
import { CliError, type ConnectOptions, connect, type Operator } from './operator.ts';
import { printTable } from './output.ts';
import { offboardToFile, readTenantsFile, runApply, showMove } from './placement.ts';
import { addReleaseCommands } from './releases.ts';
import { existingTenants, lifetime } from './token.ts';

const program = new Command();
program
  .name('silopool')
  .description('Operate a Silopool platform: tenants, tokens, placement.')
  .option('--server <url>', 'a running server (default: $SILOPOOL_URL, or the one DATA_DIR/server-url names)')
  .option('--token <token>', 'an operator token (default: $SILOPOOL_TOKEN, or DATA_DIR/operator-token)')
  .option('--data-dir <dir>', 'the data folder (default: $DATA_DIR or ./data)')
  .showHelpAfterError();

async function withOperator<T>(json: boolean, run: (op: Operator) => Promise<T>, show: (result: T) => void) {
  const op = await connect(program.opts<ConnectOptions>());
  try {
    const result = await run(op);
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else show(result);
  } finally {
    await op.close();
  }
}

const tenants = program.command('tenants').description('create, list, read and change tenants');

tenants
  .command('create <id>')
  .description('onboard a tenant; prints its API key once')
  .requiredOption('--name <name>', 'display name')
  .addOption(
    new Option('--placement <placement>', 'where it runs').choices(['shared', 'dedicated']).default('shared'),
  )
  .addOption(new Option('--plan <plan>', 'limits and weight').choices(PLANS).default(DEFAULT_PLAN))
  .option('--json', 'machine-readable output')
  .action(
    (
      id: string,
      o: {
        name: string;
        placement: 'shared' | 'dedicated';
        plan: 'free' | 'standard' | 'enterprise';
        json?: boolean;
      },
    ) =>
      withOperator(
        Boolean(o.json),
        (op) => op.createTenant({ id, name: o.name, placement: o.placement, plan: o.plan }),
        ({ tenant, apiKey }) => {
          process.stdout.write(
            `Created tenant ${tenant.id} (${tenant.name}), placement ${tenant.placement}, plan ${tenant.plan}.\n`,
          );
          process.stdout.write(`API key (shown once, store it now): ${apiKey}\n`);
        },
      ),
  );

addKeyCommands(tenants, withOperator);
addReleaseCommands(program, withOperator);

tenants
  .command('list')
  .description('every tenant: id, name, status, placement, plan')
  .option('--json', 'machine-readable output')
  .action((o: { json?: boolean }) =>
    withOperator(
      Boolean(o.json),
      (op) => op.listTenants(),
      (items) =>
        printTable(
          ['ID', 'NAME', 'STATUS', 'PLACEMENT', 'PLAN'],
          items.map((t) => [t.id, t.name, t.status, t.placement, t.plan]),
        ),
    ),
  );

tenants
  .command('get <id>')
  .description('one tenant with its settings (JSON)')
  .option('--json', 'machine-readable output')
  .action((id: string, o: { json?: boolean }) =>
    withOperator(
      Boolean(o.json),
      (op) => op.getTenant(id),
      (t) => process.stdout.write(`${JSON.stringify(t, null, 2)}\n`),
    ),
  );

for (const [command, status, description] of [
  ['suspend', 'suspended', 'refuse its submits and credentials until it is resumed (its data stays)'],
  ['resume', 'active', 'let a suspended tenant submit again'],
] as const) {
  tenants
    .command(`${command} <id>`)
    .description(description)
    .option('--json', 'machine-readable output')
    .action((id: string, o: { json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        (op) => op.updateTenant(id, { status }),
        (t) => process.stdout.write(`Tenant ${t.id} is now ${t.status}.\n`),
      ),
    );
}

tenants
  .command('move <id>')
  .description('promote or demote a tenant while it runs; shows the move step by step')
  .addOption(
    new Option('--to <placement>', 'where it goes').choices(['shared', 'dedicated']).makeOptionMandatory(),
  )
  .option('--no-wait', 'start the move and return its operation id')
  .option('--json', 'machine-readable output')
  .action((id: string, o: { to: 'shared' | 'dedicated'; wait: boolean; json?: boolean }) =>
    withOperator(
      Boolean(o.json),
      async (op) => {
        const started = await op.moveTenant(id, o.to);
        return o.wait ? showMove(op, started, Boolean(o.json)) : started;
      },
      (result) => process.stdout.write(`Operation ${result.id}: ${result.status}.\n`),
    ),
  );

tenants
  .command('offboard <id>')
  .description('export the tenant (zip of job records and artifacts), then delete everything of it')
  .requiredOption('--export <file>', 'where to write the export zip')
  .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
  .option('--json', 'machine-readable output')
  .action((id: string, o: { export: string; yes?: boolean; json?: boolean }) =>
    withOperator(
      Boolean(o.json),
      async (op) => {
        // Read first: a missing tenant is an error, not a question.
        await op.getTenant(id);
        await confirmDestructive(`offboard ${id} (its users lose access and its data is deleted)`, o);
        const bytes = await offboardToFile(op, id, o.export);
        return { tenantId: id, export: o.export, bytes };
      },
      (r) =>
        process.stdout.write(`Offboarded ${r.tenantId}; export written to ${r.export} (${r.bytes} bytes).\n`),
    ),
  );

program
  .command('apply <file>')
  .description(
    'make the tenants match a tenants.yaml: shows the plan (create, update, move, offboard), then carries it out',
  )
  .option('--dry-run', 'only show the plan')
  .option('--export-dir <dir>', "where offboarded tenants' exports go", '.')
  .option('-y, --yes', 'do not ask before offboarding (needed without a terminal)')
  .option('--json', 'machine-readable output')
  .action((file: string, o: { dryRun?: boolean; exportDir: string; yes?: boolean; json?: boolean }) => {
    const desired = readTenantsFile(file);
    return withOperator(
      Boolean(o.json),
      (op) =>
        runApply(op, desired, {
          dryRun: Boolean(o.dryRun),
          exportDir: o.exportDir,
          json: Boolean(o.json),
          confirm: (ids) => confirmDestructive(`offboard ${ids.join(', ')} as the plan says`, o),
        }),
      (r) =>
        process.stdout.write(
          o.dryRun && r.plan.length > 0
            ? 'Dry run: nothing was changed.\n'
            : r.steps === 0
              ? 'Nothing to change.\n'
              : `Applied ${r.steps} change(s).\n`,
        ),
    );
  });

program
  .command('token')
  .description(
    "mint a token from the embedded issuer: a user's for tenants, an operator's (--role operator), or a Prometheus scrape token that reads /metrics only (--role metrics)",
  )
  .option('--tenant <id...>', 'tenant(s) the token grants (needed unless --role operator or metrics)')
  .option('--user <name>', 'the user (token subject)', 'user')
  .addOption(
    new Option('--role <role...>', 'roles').choices(['user', 'operator', 'metrics']).default(['user']),
  )
  .option(
    '--expires <duration>',
    "lifetime from 1s to 24h (SILOPOOL_TOKEN_MAX_LIFETIME), like 15m or 12h (default: the server's, 1h)",
    lifetime,
  )
  .option('--json', 'machine-readable output')
  .action((o: { tenant?: string[]; user: string; role: Role[]; expires?: string; json?: boolean }) => {
    // An operator token (a Prometheus scrape, a script) needs no tenant; one that names none granted the
    // operator every tenant it named besides, which the CLI used to require.
    if (o.role.includes('metrics') && (o.tenant || o.role.some((r) => r !== 'metrics')))
      throw new CliError(
        '--role metrics mints a scrape token of its own: give it no --tenant and no other role (mint those separately).',
      );
    if (!o.tenant && !o.role.includes('operator') && !o.role.includes('metrics'))
      throw new CliError(
        "--tenant is needed: a user token grants only the tenants it names (an operator's, --role operator, or a scrape token, --role metrics, names none).",
      );
    return withOperator(
      Boolean(o.json),
      async (op) => ({
        token: await op.mintToken({
          // A token for a tenant that does not exist grants nothing: say so instead of minting it.
          tenants: await existingTenants(op, o.tenant ?? []),
          user: o.user,
          roles: o.role,
          ...(o.expires ? { expiresIn: o.expires } : {}),
        }),
      }),
      ({ token }) => process.stdout.write(`${token}\n`),
    );
  });

addBillingCommands(program, withOperator);

program.parseAsync().catch((caught: unknown) => {
  const error = fileError(caught) ?? caught;
  if (error instanceof CliError || error instanceof SilopoolError) {
    // Scripts asked for JSON get the problem as JSON (on stderr, beside exit code 1); people get words.
    if (process.argv.includes('--json')) process.stderr.write(`${JSON.stringify(problemOf(error))}\n`);
    else if (error instanceof SilopoolError && (problemOf(error).errors?.length ?? 0) > 1)
      process.stderr.write(`silopool: ${describeProblem(problemOf(error))}\n`);
    // One problem is one line: its message names the field ("/expiresIn must be at most 24h").
    else process.stderr.write(`silopool: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
});
