/** One benchmark figure against its baseline measured in the same run, printed as one JSON line. */
export interface Figure {
  bench: string;
  value: number;
  unit: string;
  baseline: number;
  /** what the baseline is */
  baselineName: string;
  ratio: number;
}

export function figure(bench: string, value: number, unit: string, baseline: number, baselineName: string): Figure {
  const round = (n: number) => Number(n.toPrecision(4));
  return { bench, value: round(value), unit, baseline: round(baseline), baselineName, ratio: round(value / baseline) };
}

export function print(f: Figure): void {
  process.stdout.write(`${JSON.stringify(f)}\n`);
}

/** Median of repeated measurements: these machines are noisy, the median is stable. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
