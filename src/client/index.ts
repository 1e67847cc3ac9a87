export { COST_CURRENCY, totalsByCurrency } from '../core/billing-totals.ts';
export type * from './billing-types.ts';
export {
  CLIENT_ROUTES,
  type ClientOptions,
  createClient,
  fileNameFrom,
  isTerminal,
  SilopoolClient,
} from './client.ts';
export type * from './operator-types.ts';
export { type FieldError, type Problem, ProblemError } from './problem.ts';
export { parseEventStream, type ServerSentEvent } from './sse.ts';
export type * from './types.ts';
export { DEFAULT_PLAN } from './types.ts';
