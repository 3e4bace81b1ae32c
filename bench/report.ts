/** One benchmark figure against its baseline measured in the same run, printed as one JSON line. */
export interface Figure {
  bench: string;
  value: number;
  unit: string;
  baseline: number;
  /** what the baseline is */
  baselineName: string;
  ratio: number;
  /** timed; measured (memory); or computed from sizes, counts and decisions (the same on every machine) */
  kind: 'timed' | 'measured' | 'computed';
}

export function figure(bench: string, value: number, unit: string, baseline: number, baselineName: string, kind: Figure['kind'] = 'timed'): Figure {
  const round = (n: number) => Number(n.toPrecision(4));
  return { bench, value: round(value), unit, baseline: round(baseline), baselineName, ratio: round(value / baseline), kind };
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

/**
 * Two measurements side by side: each warmed up once, then `runs` rounds alternating which goes first (the one that
 * runs second inherits the other's garbage), the median of each.
 */
export async function sideBySide(ours: () => Promise<number>, theirs: () => Promise<number>, runs = 7): Promise<{ ours: number; theirs: number }> {
  await ours();
  await theirs();
  const a: number[] = [];
  const b: number[] = [];
  for (let run = 0; run < runs; run++) {
    if (run % 2 === 0) {
      a.push(await ours());
      b.push(await theirs());
    } else {
      b.push(await theirs());
      a.push(await ours());
    }
  }
  return { ours: median(a), theirs: median(b) };
}

/** A run's clock, stopped by the event that ends the run: exact to that event, where a poll would add its period. */
export class Stopwatch {
  private readonly started = process.hrtime.bigint();
  private ended: bigint | undefined;

  stop(): void {
    this.ended ??= process.hrtime.bigint();
  }

  get stopped(): boolean {
    return this.ended !== undefined;
  }

  get seconds(): number {
    return Number((this.ended ?? process.hrtime.bigint()) - this.started) / 1e9;
  }
}
