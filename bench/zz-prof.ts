import { availableParallelism } from 'node:os';
import { plainLoop, platformRun } from './e2e.ts';
const large = { revenue: 1_000_000, years: 30, loan: { principal: 5_000_000, annualRate: 0.06, termMonths: 360, startDate: '2026-01-01' } };
const small = { revenue: 1_000_000, years: 10 };
const input = process.env.CASE === 'small' ? small : large;
const jobs = Number(process.env.JOBS ?? 1000);
const side = process.env.SIDE === 'plain' ? plainLoop : platformRun;
const r = await side(input, jobs, availableParallelism());
console.log(JSON.stringify(r));
