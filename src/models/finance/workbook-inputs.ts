import { excelSerial, FIRST_PORTABLE_DATE, FIRST_PORTABLE_SERIAL } from '../finmath.ts';
import type { JsonSchema } from '../types.ts';
import { type InputRow, schemaFields, TENANT_FIXED_NOTE } from '../xlsx/layout.ts';
import { type Accepts, acceptsEnum, fixedByTenant, local } from '../xlsx/validation.ts';
import { type FinanceResult, MIN_TERMINAL_SPREAD } from './run.ts';
import { type FinanceInput, financeSchema, MAX_TERM_MONTHS, MAX_YEARS } from './schema.ts';

/** The Gordon spread `checkFinance` requires, as a condition on the discount rate and terminal growth cells. */
const gordonSpread = (r: string, g: string, method: string) => ({
  formula: `OR(${method}="exitMultiple",${r}-${g}>=${MIN_TERMINAL_SPREAD - 1e-12})`,
  message: `Under gordon, the discount rate must exceed terminal growth by at least ${MIN_TERMINAL_SPREAD * 100} percentage points.`,
});

/**
 * The terminal method cell: one of the schema's methods, and the Gordon spread when it is `gordon`. Excel
 * checks a validation only on the cell typed into, so each cell the spread reads (discount rate, terminal
 * growth, method) carries it, and the method cell so loses the list's drop-down: switching an exit-multiple
 * workbook whose rates are 0.2 points apart to gordon is refused, as the API refuses that input.
 */
function acceptsMethod(schema: JsonSchema): Accepts {
  const list = acceptsEnum(schema, 'terminalMethod', 'gordon or exitMultiple');
  if (typeof list === 'function' || list.kind !== 'list') throw new Error('terminalMethod is an enum');
  return (m, I) => {
    const spread = gordonSpread(local(I['r']!), local(I['g']!), m);
    // EXACT: a list validation matches case, Excel's = does not ("GORDON" is no method to the API).
    const oneOf = list.values.map((v) => `EXACT(${m},"${v}")`).join(',');
    return {
      kind: 'custom',
      formula: `AND(OR(${oneOf}),${spread.formula})`,
      message: `${list.values.join(' or ')}. ${spread.message}`,
    };
  };
}

/**
 * The last payment `EDATE(start, term)` on or before 9999-12-31, the drawdown from 1900-03-01 (serial 61):
 * `checkFinance`'s date rules, with the Loan sheet's own date formula.
 */
const loanDates = (start: string, term: string) => ({
  formula: `AND(${start}>=${FIRST_PORTABLE_SERIAL},${start}=INT(${start}),MIN(DATE(YEAR(${start}),MONTH(${start})+${term},DAY(${start})),EOMONTH(${start},${term}))<=${LAST_SERIAL})`,
  message: `The drawdown date must be on or after ${FIRST_PORTABLE_DATE}, and the last monthly payment on or before 9999-12-31.`,
});
const LAST_SERIAL = 2958465;

/**
 * The Inputs sheet of the finance workbook: each input validated by the tenant's schema (or locked where its
 * rules fix the field), the terminal method and the rates it reads by the Gordon spread, the loan's term and
 * drawdown date by the last payment date. The loan rows are there when the input has a loan.
 */
export function financeInputRows(
  result: FinanceResult,
  input: FinanceInput,
  schema: JsonSchema = financeSchema,
): InputRow[] {
  const { accepts, field } = schemaFields(schema);
  const growthArray = Array.isArray(input.revenueGrowth);
  const inputs: InputRow[] = [
    { key: 'currency', label: 'Currency', value: input.currency, style: 'fixed' },
    field(
      'startYear',
      {
        key: 'startYear',
        label: 'First projected year',
        value: input.startYear,
        style: 'integerInput',
      },
      () => accepts('startYear'),
    ),
    // Per-year growth the tenant's rules fix holds one rate per year, so it fixes the number of years too: the
    // API refuses any other (checkFinance), and the DCF's growth cells past them are locked blanks.
    growthArray && fixedByTenant(schema, 'revenueGrowth') && !fixedByTenant(schema, 'years')
      ? {
          key: 'years',
          label: 'Projection years',
          value: input.years,
          style: 'integer',
          unit: `years: one per revenue growth rate; ${TENANT_FIXED_NOTE} (revenue growth)`,
        }
      : field(
          'years',
          {
            key: 'years',
            label: 'Projection years',
            value: input.years,
            style: 'integerInput',
            unit: `years (1 to ${MAX_YEARS})`,
          },
          () => accepts('years'),
        ),
    field(
      'revenue',
      {
        key: 'revenue',
        label: 'Base-year revenue',
        value: input.revenue,
        style: 'moneyInput',
        unit: input.currency,
      },
      () => accepts('revenue'),
    ),
    growthArray
      ? { key: 'revenueGrowth', label: 'Revenue growth', value: 'per year, on the DCF sheet', style: 'note' }
      : field(
          'revenueGrowth',
          {
            key: 'revenueGrowth',
            label: 'Revenue growth',
            value: input.revenueGrowth as number,
            style: 'percentInput',
          },
          () => accepts('revenueGrowth'),
        ),
    field(
      'ebitdaMargin',
      {
        key: 'ebitdaMargin',
        label: 'EBITDA margin',
        value: input.ebitdaMargin,
        style: 'percentInput',
      },
      () => accepts('ebitdaMargin'),
    ),
    field(
      'depreciationPctRevenue',
      {
        key: 'dep',
        label: 'D&A, % of revenue',
        value: input.depreciationPctRevenue,
        style: 'percentInput',
      },
      () => accepts('depreciationPctRevenue'),
    ),
    field(
      'capexPctRevenue',
      {
        key: 'capex',
        label: 'Capex, % of revenue',
        value: input.capexPctRevenue,
        style: 'percentInput',
      },
      () => accepts('capexPctRevenue'),
    ),
    field(
      'nwcPctRevenue',
      {
        key: 'nwc',
        label: 'Net working capital, % of revenue',
        value: input.nwcPctRevenue,
        style: 'percentInput',
      },
      () => accepts('nwcPctRevenue'),
    ),
    field(
      'taxRate',
      {
        key: 'tax',
        label: 'Tax rate',
        value: input.taxRate,
        style: 'percentInput',
      },
      () => accepts('taxRate'),
    ),
    field(
      'discountRate',
      {
        key: 'r',
        label: 'Discount rate (WACC)',
        value: input.discountRate,
        style: 'percentInput',
      },
      () =>
        accepts('discountRate', {
          also: (r, I) => gordonSpread(r, local(I['g']!), local(I['terminalMethod']!)),
        }),
    ),
    field(
      'terminalGrowth',
      {
        key: 'g',
        label: 'Terminal growth',
        value: input.terminalGrowth,
        style: 'percentInput',
      },
      () =>
        accepts('terminalGrowth', {
          also: (g, I) => gordonSpread(local(I['r']!), g, local(I['terminalMethod']!)),
        }),
    ),
    field(
      'terminalMethod',
      {
        key: 'terminalMethod',
        label: 'Terminal value method',
        value: input.terminalMethod,
        style: 'textInput',
        unit: 'gordon or exitMultiple',
      },
      () => acceptsMethod(schema),
    ),
    field(
      'exitMultiple',
      {
        key: 'exitMultiple',
        label: 'Exit multiple (EV/EBITDA)',
        value: input.exitMultiple,
        style: 'numberInput',
        unit: 'times last projected EBITDA',
      },
      () => accepts('exitMultiple'),
    ),
    field(
      'discounting',
      {
        key: 'discounting',
        label: 'Discounting',
        value: input.discounting,
        style: 'textInput',
      },
      () => acceptsEnum(schema, 'discounting', 'end-year or mid-year'),
    ),
    {
      key: 'offset',
      label: 'Timing offset (computed)',
      value: result.timingOffset,
      style: 'number',
      unit: 'years earlier than end-year',
      formula: (r) => `IF(${r['discounting']}="mid-year",0.5,0)`,
    },
    field(
      'netDebt',
      {
        key: 'netDebt',
        label: 'Net debt',
        value: result.netDebt,
        style: 'moneyInput',
        unit: input.currency,
      },
      () => accepts('netDebt'),
    ),
  ];
  if (input.sharesOutstanding) {
    inputs.push(
      field(
        'sharesOutstanding',
        {
          key: 'shares',
          label: 'Shares outstanding',
          value: input.sharesOutstanding,
          style: 'numberInput',
        },
        () => accepts('sharesOutstanding'),
      ),
    );
  }
  if (input.loan) {
    inputs.push(
      field(
        'loan.principal',
        {
          key: 'principal',
          label: 'Loan principal',
          value: input.loan.principal,
          style: 'moneyInput',
          unit: input.currency,
        },
        () => accepts('loan.principal'),
      ),
      field(
        'loan.annualRate',
        {
          key: 'loanRate',
          label: 'Loan annual rate',
          value: input.loan.annualRate,
          style: 'percentInput',
        },
        () => accepts('loan.annualRate'),
      ),
      field(
        'loan.termMonths',
        {
          key: 'term',
          label: 'Loan term',
          value: input.loan.termMonths,
          style: 'integerInput',
          unit: `months (1 to ${MAX_TERM_MONTHS})`,
        },
        () => accepts('loan.termMonths', { also: (term, I) => loanDates(local(I['loanStart']!), term) }),
      ),
      field(
        'loan.startDate',
        {
          key: 'loanStart',
          label: 'Loan drawdown date',
          value: excelSerial(input.loan.startDate),
          style: 'dateInput',
        },
        () => (start, I) => {
          const { formula, message } = loanDates(start, local(I['term']!));
          return { kind: 'custom', formula: `AND(ISNUMBER(${start}),${formula})`, message };
        },
      ),
    );
  }
  return inputs;
}
