/** Small summary statistics for benchmark samples. */

/** Nearest-rank percentile of unsorted samples; NaN when there are none. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

export const median = (samples: number[]): number => percentile(samples, 50);

export const round = (x: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export interface Spread {
  n: number;
  p50: number;
  p95: number;
  max: number;
}

export function spread(samples: number[], digits = 0): Spread {
  return {
    n: samples.length,
    p50: round(percentile(samples, 50), digits),
    p95: round(percentile(samples, 95), digits),
    max: round(samples.length ? Math.max(...samples) : Number.NaN, digits),
  };
}
