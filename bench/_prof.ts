import { benchEndToEnd } from './e2e.ts';
console.table(await benchEndToEnd({ jobs: Number(process.env.JOBS ?? 1000) }));
