/** One measured number; `ratio` is value / baseline, both measured in the same run. */
export type BenchResult = {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  note?: string;
};
