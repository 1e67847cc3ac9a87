import { roundMoney, type SummaryUnits } from '../round.ts';
import { schemaForTenant } from '../rules.ts';
import type { ModelDefinition } from '../types.ts';
import { adviseFinance, checkFinance, type FinanceResult, runFinance } from './run.ts';
import { type FinanceInput, financeSchema } from './schema.ts';
import { FINANCE_SHEETS, financeWorkbook } from './workbook.ts';

/** Which summary figures are money (rounded per the tenant's rule); the rest are ratios, years or counts. */
export const financeSummaryUnits: SummaryUnits = {
  enterpriseValue: 'money',
  equityValue: 'money',
  valuePerShare: 'money',
  pvOfCashFlows: 'money',
  terminalValue: 'money',
  impliedExitMultiple: 'multiple',
  impliedTerminalGrowth: 'fraction',
  pvOfTerminalValue: 'money',
  netDebt: 'money',
  freeCashFlow: [{ value: 'money' }],
  loan: { monthlyPayment: 'money', totalInterest: 'money' },
  sensitivity: {
    gordon: { rows: ['fraction'], cols: ['fraction'], ev: [['money']] },
    exitMultiple: { rows: ['fraction'], cols: ['multiple'], ev: [['money']] },
  },
};

export const financeModel: ModelDefinition<FinanceInput, FinanceResult> = {
  name: 'finance',
  // 1.1: exit-multiple terminal value and sensitivity tables; 1.1.2: summary money rounded on the exact
  // double where 15 digits cannot resolve the step (round.ts); 1.1.3: the implied multiple and growth are null
  // outside their domains (EBITDA ≤ 0; growth ≥ r). docs/models.md lists what each version changed.
  version: '1.1.3',
  title: 'Company projection and valuation',
  description:
    'Projects revenue to free cash flow, values the company by DCF with a Gordon growth or exit-multiple terminal value (with WACC sensitivity tables), and schedules an optional amortising loan.',
  inputSchema: financeSchema,
  check: checkFinance,
  advise: adviseFinance,
  // A 5-year DCF is 1 (a longer projection counts per year); a monthly loan schedule adds one unit per 120 rows.
  cost: (input) => Math.max(1, input.years / 5) + (input.loan ? input.loan.termMonths / 120 : 0),
  costFields: ['years', 'loan.termMonths'],
  run: (input) => runFinance(input),
  summary: (result, rules) =>
    roundMoney(
      {
        currency: result.currency,
        enterpriseValue: result.enterpriseValue,
        equityValue: result.equityValue,
        valuePerShare: result.valuePerShare,
        pvOfCashFlows: result.pvOfCashFlows,
        terminalMethod: result.terminalMethod,
        terminalValue: result.terminalValue,
        impliedExitMultiple: result.impliedExitMultiple,
        impliedTerminalGrowth: result.impliedTerminalGrowth,
        pvOfTerminalValue: result.pvOfTerminalValue,
        netDebt: result.netDebt,
        freeCashFlow: result.years.map((y) => ({ year: y.year, value: y.freeCashFlow })),
        loan: result.loan
          ? {
              monthlyPayment: result.loan.payment,
              totalInterest: result.loan.totalInterest,
              months: result.loan.rows.length,
            }
          : null,
        sensitivity: result.sensitivity,
        warnings: result.warnings,
      },
      financeSummaryUnits,
      rules.rounding,
    ),
  summaryUnits: financeSummaryUnits,
  // The workbook validates by the schema the job's tenant rules shape, as the API did at submit: this
  // model's schema (a release that spreads it may have its own).
  workbook(result, input, formatting, provenance, rules) {
    return financeWorkbook(
      result,
      input,
      formatting,
      provenance,
      schemaForTenant(this ?? financeModel, rules ?? {}),
    );
  },
  sheetNames: FINANCE_SHEETS,
};
