/** One figure of a benchmark, printed beside a baseline measured in the same run. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  baselineName: string;
  /** value relative to the baseline, oriented so that the target reads naturally (see `target`). */
  ratio: number;
  /** what the issue asks, e.g. ">= 0.8" or "<= 5x". */
  target?: string;
}
