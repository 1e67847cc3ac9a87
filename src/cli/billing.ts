import { type Command, Option } from 'commander';
import { statementCsv, statementHtml } from '../control/statement-render.ts';
import { listStatements, monthStatements, parseMonth, statementFor } from '../control/statements.ts';
import { parseTenantId } from '../core/ids.ts';
import { currencyOf, formatMinor } from '../core/money.ts';
import type { Statement } from '../core/statement.ts';
import { utcMonth } from '../core/usage.ts';
import { CliError, type Operator } from './operator.ts';
import { printTable } from './output.ts';

type WithOperator = <T>(
  json: boolean,
  run: (op: Operator) => Promise<T>,
  show: (result: T) => void,
) => Promise<void>;

type Summary = { month: string; items: Omit<Statement, 'lines'>[] };

async function summary(op: Operator, month: string): Promise<Summary> {
  if (op.request) return (await op.request('GET', `/v1/admin/billing/summary?month=${month}`)) as Summary;
  if (!op.billing) throw new CliError('This platform has no usage ledger.');
  return { month, items: await monthStatements(op.billing, month) };
}

async function statements(op: Operator, tenant: string, month?: string): Promise<Statement[]> {
  const id = parseTenantId(tenant, '/tenant');
  if (op.request) {
    if (month) return [(await op.request('GET', `/v1/admin/tenants/${id}/statements/${month}`)) as Statement];
    return ((await op.request('GET', `/v1/admin/tenants/${id}/statements`)) as { items: Statement[] }).items;
  }
  if (!op.billing) throw new CliError('This platform has no usage ledger.');
  const t = (await op.billing.directory.get(id)) ?? { id, plan: 'free' as const };
  return month ? [await statementFor(op.billing, t, month)] : listStatements(op.billing, t);
}

const money = (minor: number | null, currency: string) =>
  minor === null ? '–' : `${formatMinor(minor, currencyOf(currency))} ${currency}`;

/** `silopool usage` and `silopool statements`: what tenants used, cost and owe, for a UTC month. */
export function addBillingCommands(program: Command, withOperator: WithOperator): void {
  program
    .command('usage')
    .description('usage, revenue, cost and margin per tenant for a month (UTC; default this month)')
    .option('--month <YYYY-MM>', 'the month')
    .option('--json', 'machine-readable output')
    .action((o: { month?: string; json?: boolean }) =>
      withOperator(
        Boolean(o.json),
        (op) => summary(op, o.month ? parseMonth(o.month, '--month') : utcMonth(Date.now())),
        (s) => {
          process.stdout.write(`Usage and money for ${s.month} (UTC):\n`);
          printTable(
            ['TENANT', 'JOBS', 'GB-S', 'API', 'REVENUE', 'COST', 'MARGIN', 'STATUS'],
            s.items.map((i) => [
              i.tenantId,
              String(i.usage.jobs),
              (i.usage.compute_mb_ms / 1024 / 1000).toFixed(1),
              String(i.usage.api_requests),
              money(i.total, i.currency),
              money(i.cost, 'USD'),
              money(i.margin, 'USD'),
              i.status,
            ]),
          );
        },
      ),
    );

  program
    .command('statements <tenant>')
    .description("a tenant's statements, or one month's as a table, CSV or printable HTML")
    .option('--month <YYYY-MM>', 'one month (UTC)')
    .addOption(
      new Option('--format <format>', 'with --month: one month as').choices(['table', 'csv', 'html']),
    )
    .option('--json', 'machine-readable output')
    .action((tenant: string, o: { month?: string; format?: string; json?: boolean }) => {
      // Taken silently before: the list of months came out as a table whatever --format asked for.
      if (o.format !== undefined && !o.month)
        throw new CliError("--format needs --month: it formats one month's statement (--month YYYY-MM).");
      return withOperator(
        Boolean(o.json),
        (op) => statements(op, tenant, o.month ? parseMonth(o.month, '--month') : undefined),
        (items) => {
          const [one] = items;
          if (o.month && one && o.format === 'csv') return void process.stdout.write(statementCsv(one));
          if (o.month && one && o.format === 'html') return void process.stdout.write(statementHtml(one));
          if (o.month && one) {
            printTable(
              ['LINE', 'DAYS', 'AMOUNT'],
              one.lines.map((l) => [l.description, `${l.from}..${l.to}`, money(l.amount, one.currency)]),
            );
            process.stdout.write(
              `Total ${money(one.total, one.currency)} · cost ${money(one.cost, 'USD')} · margin ${money(one.margin, 'USD')} · ${one.status}\n`,
            );
            return;
          }
          printTable(
            ['MONTH', 'STATUS', 'TOTAL', 'COST', 'MARGIN'],
            items.map((s) => [
              s.month,
              s.status,
              money(s.total, s.currency),
              money(s.cost, 'USD'),
              money(s.margin, 'USD'),
            ]),
          );
        },
      );
    });
}
