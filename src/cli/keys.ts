import type { Command } from 'commander';
import { confirmDestructive } from './confirm.ts';
import type { Operator } from './operator.ts';
import { numberIn } from './options.ts';
import { printTable } from './output.ts';

type WithOperator = <T>(
  json: boolean,
  run: (op: Operator) => Promise<T>,
  show: (result: T) => void,
) => Promise<void>;

/** `silopool tenants keys list|issue|revoke|rotate`: a tenant's API keys, secrets shown only when made. */
export function addKeyCommands(tenants: Command, withOperator: WithOperator): void {
  const keys = tenants.command('keys').description("list, issue, revoke and rotate a tenant's API keys");

  keys
    .command('list <tenant>')
    .description('the working keys: id, prefix, created, last used (never the secrets)')
    .option('--json', 'machine-readable output')
    .action((tenant: string, o: { json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        (op) => op.listApiKeys(tenant),
        (items) =>
          printTable(
            ['ID', 'PREFIX', 'CREATED', 'LAST USED', 'EXPIRES'],
            items.map((k) => [k.id, `${k.prefix}…`, k.createdAt, k.lastUsedAt ?? '-', k.expiresAt ?? '-']),
          ),
      ),
    );

  keys
    .command('issue <tenant>')
    .description('another key for the tenant; prints it once')
    .option('--json', 'machine-readable output')
    .action((tenant: string, o: { json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        (op) => op.issueApiKey(tenant),
        ({ apiKey }) => process.stdout.write(`API key (shown once, store it now): ${apiKey}\n`),
      ),
    );

  keys
    .command('revoke <tenant> <keyId>')
    .description('the next request with the key answers 401')
    .option('-y, --yes', 'do not ask for confirmation (needed without a terminal)')
    .option('--json', 'machine-readable output')
    .action((tenant: string, keyId: string, o: { yes?: boolean; json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        async (op) => {
          await confirmDestructive(`revoke key ${keyId} of ${tenant} (requests with it fail at once)`, o);
          await op.revokeApiKey(tenant, keyId);
          return { tenantId: tenant, keyId, revoked: true };
        },
        () => process.stdout.write(`Revoked key ${keyId} of ${tenant}.\n`),
      ),
    );

  keys
    .command('rotate <tenant> <keyId>')
    .description('a new key in place of one; prints it once. The old key stops now or after --grace')
    .option(
      '--grace <seconds>',
      'how long the old key keeps working (at most 604800, 7 days)',
      numberIn(0, 604_800, { whole: true, unit: 'seconds' }),
      0,
    )
    .option(
      '-y, --yes',
      'do not ask before revoking the old key at once (--grace 0; needed without a terminal)',
    )
    .option('--json', 'machine-readable output')
    .action((tenant: string, keyId: string, o: { grace: number; yes?: boolean; json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        async (op) => {
          // Without a grace period the old key stops at once: as final as revoking it.
          if (o.grace === 0)
            await confirmDestructive(`revoke key ${keyId} of ${tenant} now and issue a new one`, o);
          return op.rotateApiKey(tenant, keyId, o.grace);
        },
        (r) => {
          process.stdout.write(`New key ${r.key.id} (shown once, store it now): ${r.apiKey}\n`);
          process.stdout.write(
            r.replaced.revoked
              ? `Key ${r.replaced.id} is revoked.\n`
              : `Key ${r.replaced.id} works until ${r.replaced.expiresAt}.\n`,
          );
        },
      ),
    );
}
