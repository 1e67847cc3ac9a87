import type { FieldProblem } from '../core/errors.ts';
import type { Formatting, ModelRules } from '../core/tenant.ts';
import type { SummaryUnits } from './round.ts';

/** Called by a model as it works: `done` of `total` units so far (Monte Carlo paths simulated). */
export type ProgressCallback = (done: number, total: number) => void;

/** A JSON Schema object (draft 2020-12 subset that Ajv and @rjsf understand). */
export type JsonSchema = { [key: string]: unknown };

/**
 * Something the user must know about a result that is not an error: the figure is computed correctly
 * but can mislead (several IRRs, a terminal value that is nearly all of the value, a rate typed as percent).
 * Stable `code` for programs; `path` is the input field it is about (a JSON pointer like `/input/years`),
 * `figure` the result field (`enterpriseValue`), when there is one.
 */
export interface ModelWarning {
  code: string;
  message: string;
  path?: string;
  figure?: string;
}

/** Where a workbook comes from: written into its document properties (docProps). */
export interface Provenance {
  jobId: string;
  tenantId: string;
  /** The tenant's name: the workbook's Company property. */
  tenantName: string;
  model: string;
  modelVersion: string;
  /** ISO 8601: when the job was created. Passed in, so a render stays deterministic. */
  created: string;
}

/** What the model author gives the platform. `run` and `workbook` must be pure and deterministic. */
export interface ModelDefinition<Input = unknown, Result = unknown> {
  name: string;
  /** Semver of the model's numbers: bump it when the same input would give different numbers. */
  version: string;
  title: string;
  description: string;
  /** Input JSON Schema with titles, descriptions, units, ranges and defaults. */
  inputSchema: JsonSchema;
  /** Checks that JSON Schema cannot express (terminalGrowth < discountRate, array lengths); [] when fine. */
  check(input: Input): FieldProblem[];
  /**
   * Plausibility warnings for a valid input (a rate of 5 meaning 5 %, not 500 %): returned when the job is
   * accepted and kept on its result. Inputs stay fractions; these only ask the user to look again.
   */
  advise?(input: Input): ModelWarning[];
  /**
   * Cost units of a run of `input` (1 = a small DCF), from the input alone: fair scheduling charges a job
   * this much, and a job above its plan's `maxJobCost` is refused at submit. Pure and cheap.
   */
  cost(input: Input): number;
  /** The input fields `cost` depends on, as dotted paths (`loan.termMonths`): named when a job is refused. */
  costFields: readonly string[];
  /**
   * `onProgress`, when given, is called as the run advances (`done` of `total` units, see `progress`); the
   * result must not depend on whether it is given.
   */
  run(input: Input, rules: ModelRules, onProgress?: ProgressCallback): Result;
  /**
   * What a long run reports progress in: the unit (`paths`), how many of them an input makes (0: nothing
   * worth reporting), and how many a part of a parallel run covers.
   */
  progress?: {
    unit: string;
    total(input: Input): number;
    ofPart(part: unknown): number;
  };
  /** The key figures stored on the job and shown to the user, rounded per `rules.rounding`. */
  summary(result: Result, rules: ModelRules): Record<string, unknown>;
  /** What each summary figure measures (money in the job's currency, a rate, a multiple), for clients to format. */
  summaryUnits?: SummaryUnits;
  /** Chart data shown by the web app (free cash flow by year, a fund's J-curve), by series name. */
  series?(result: Result): Record<string, { label: string | number; value: number }[]>;
  /**
   * For runs big enough to spread over cores: `plan` splits the work into parts (or returns [] to run
   * whole), `runPart` computes one part (pure), `combine` builds the result from all parts in plan order.
   * `combine(input, rules, plan.map(runPart))` must equal `run(input, rules)`.
   */
  parallel?: {
    plan(input: Input, cores: number): unknown[];
    runPart(input: Input, part: unknown): unknown;
    combine(input: Input, rules: ModelRules, parts: unknown[]): Result;
  };
  /** The workbook's sheets by default name; a tenant's `formatting.sheetNames` may rename each. */
  sheetNames: readonly string[];
  /**
   * Renders the xlsx bytes; `provenance` (job, tenant, model version) goes into the document properties.
   * `rules` are the job's tenant rules (none: the model's own schema): the workbook's input cells accept what
   * the tenant's schema accepts (`schemaForTenant`), and a field the rules fix is locked.
   */
  workbook(
    result: Result,
    input: Input,
    formatting: Formatting,
    provenance?: Provenance,
    rules?: ModelRules,
  ): Uint8Array | Promise<Uint8Array>;
}
