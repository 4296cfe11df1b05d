/**
 * The throttling statistics (core/src/throttling.ts) and the decision rule, on known distributions
 * and edge cases: identical samples, zero-progress transfers, one repeat, stalls versus ceilings.
 */

import { normalCdf, peakRate, peakWindow } from '@pharos/core';
import { describe, expect, it } from 'vitest';
import {
  decideThrottling,
  ksTwoSample,
  mannWhitneyLess,
  median,
  quantile,
  sliceRates,
  type TransferObservation,
  type TransferPair,
  weheArea,
} from '../src/experiments/throttling/index.js';

/** P(U ≤ u) by enumerating every way to split the pooled ranks (no ties): the reference for the DP. */
function bruteForceUCdf(n1: number, n2: number, u: number): number {
  const n = n1 + n2;
  let below = 0;
  let total = 0;
  const choose = (start: number, picked: number[]) => {
    if (picked.length === n1) {
      total++;
      // U of X: pairs (x, y) with x > y; ranks 0..n-1, X holds `picked`.
      let ux = 0;
      const set = new Set(picked);
      for (const x of picked) for (let y = 0; y < x; y++) if (!set.has(y)) ux++;
      if (ux <= u) below++;
      return;
    }
    for (let i = start; i < n; i++) choose(i + 1, [...picked, i]);
  };
  choose(0, []);
  return below / total;
}

/** Deterministic pseudo-random numbers (a linear congruential generator), for reproducible samples. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('median and quantile', () => {
  it('interpolate between closest ranks and give NaN for nothing', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantile([10], 0.9)).toBe(10);
    expect(median([])).toBeNaN();
  });
});

describe('normalCdf', () => {
  it('matches the standard normal table', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(-1.959964)).toBeCloseTo(0.025, 5);
    expect(normalCdf(2.326348)).toBeCloseTo(0.99, 5);
    expect(normalCdf(-6) / 9.8659e-10).toBeCloseTo(1, 3);
  });
});

describe('mannWhitneyLess (one-sided: X smaller)', () => {
  it('is exact for small samples without ties: complete separation of 3 and 3 gives 1/20', () => {
    const r = mannWhitneyLess([1, 2, 3], [4, 5, 6]);
    expect(r).toMatchObject({ statistic: 0, exact: true });
    expect(r.p_value).toBeCloseTo(1 / 20, 12);
    expect(mannWhitneyLess([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).p_value).toBeCloseTo(1 / 252, 12);
    // The other direction is no evidence at all.
    expect(mannWhitneyLess([4, 5, 6], [1, 2, 3]).p_value).toBe(1);
  });

  it('agrees with brute-force enumeration of every split', () => {
    const next = lcg(7);
    for (const [n1, n2] of [
      [4, 5],
      [6, 3],
      [5, 5],
      [7, 4],
    ] as const) {
      const x = Array.from({ length: n1 }, () => next());
      const y = Array.from({ length: n2 }, () => next() + 0.2);
      const r = mannWhitneyLess(x, y);
      expect(r.exact).toBe(true);
      expect(r.p_value).toBeCloseTo(bruteForceUCdf(n1, n2, r.statistic), 12);
    }
  });

  it('uses the normal approximation with ties, close to the exact distribution without', () => {
    const next = lcg(11);
    const x = Array.from({ length: 40 }, () => next());
    const y = Array.from({ length: 40 }, () => next() + 0.1);
    const exact = mannWhitneyLess(x, y);
    // Adding a shared tie forces the approximation; the result must barely move.
    const approx = mannWhitneyLess([...x, 5], [...y, 5]);
    expect(exact.exact).toBe(true);
    expect(approx.exact).toBe(false);
    expect(approx.z).not.toBeNull();
    expect(Math.abs(Math.log10(approx.p_value) - Math.log10(exact.p_value))).toBeLessThan(0.3);
  });

  it('gives p = 1 for identical samples and for an empty sample', () => {
    expect(mannWhitneyLess([5, 5, 5], [5, 5, 5])).toMatchObject({ statistic: 4.5, p_value: 1 });
    expect(mannWhitneyLess([], [1, 2]).p_value).toBe(1);
  });

  it('separates 100 kbit/s from 10 Mbit/s samples with a tiny p-value', () => {
    const next = lcg(3);
    const slow = Array.from({ length: 30 }, () => 100 * (0.8 + 0.4 * next()));
    const fast = Array.from({ length: 30 }, () => 10_000 * (0.5 + next()));
    expect(mannWhitneyLess(slow, fast).p_value).toBeLessThan(1e-10);
  });
});

describe('ksTwoSample', () => {
  it('gives D = 0, p = 1 for identical samples and D = 1 for disjoint ones', () => {
    expect(ksTwoSample([1, 2, 3], [1, 2, 3])).toEqual({ statistic: 0, p_value: 1 });
    const disjoint = ksTwoSample(
      Array.from({ length: 10 }, (_, i) => i),
      Array.from({ length: 10 }, (_, i) => i + 100),
    );
    expect(disjoint.statistic).toBe(1);
    expect(disjoint.p_value).toBeLessThan(1e-4);
  });

  it('follows the Kolmogorov distribution: D = 0.5 with 20 and 20 gives p ≈ 0.008', () => {
    const x = Array.from({ length: 20 }, (_, i) => i);
    const y = Array.from({ length: 20 }, (_, i) => i + 10);
    const r = ksTwoSample(x, y);
    expect(r.statistic).toBe(0.5);
    expect(r.p_value).toBeGreaterThan(0.006);
    expect(r.p_value).toBeLessThan(0.011);
  });
});

describe('weheArea', () => {
  it('is 0 for identical samples and (c − t) / min(max) for constant ones', () => {
    expect(weheArea([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(weheArea([1, 1, 1], [10, 10, 10])).toBeCloseTo(9, 9);
    expect(weheArea([10, 10], [1, 1])).toBeCloseTo(-9, 9);
    expect(weheArea([0, 0], [0, 0])).toBe(0);
    expect(weheArea([], [1])).toBe(0);
  });
});

describe('sliceRates', () => {
  it('reads cumulative bytes as a curve through the distinct instants, over equal slices', () => {
    // 1000 bytes at 10 ms, 2000 at 20 ms: two 10 ms slices of 800 kbit/s.
    expect(
      sliceRates(
        [
          [0, 0],
          [10, 1000],
          [20, 2000],
        ],
        0,
        20,
        2,
      ),
    ).toEqual([800, 800]);
    // Bytes reported at one instant arrived since the previous one: spread over the gap.
    expect(
      sliceRates(
        [
          [0, 0],
          [40, 4000],
        ],
        0,
        40,
        4,
      ),
    ).toEqual([800, 800, 800, 800]);
    // A stall is a flat stretch of the curve.
    expect(
      sliceRates(
        [
          [0, 0],
          [30, 0],
          [40, 4000],
        ],
        0,
        40,
        4,
      ),
    ).toEqual([0, 0, 0, 3200]);
    // After the last byte (a transfer cut by the time bound) the curve stays flat.
    expect(
      sliceRates(
        [
          [0, 0],
          [10, 1000],
        ],
        0,
        20,
        2,
      ),
    ).toEqual([800, 0]);
    expect(sliceRates([[0, 0]], 5, 5, 3)).toEqual([]);
  });
});

describe('peakRate', () => {
  const linear = (kbit: number, ms: number, step = 10): [number, number][] =>
    Array.from({ length: ms / step + 1 }, (_, i) => [i * step, Math.round((kbit * i * step) / 8)]);

  it('is the rate of a steady transfer', () => {
    expect(peakRate(linear(800, 1000), 10_000)).toBeCloseTo(800, 0);
  });

  it('finds the speed between stalls, and spreads bytes delivered at one instant back to the previous one', () => {
    const stalled: [number, number][] = [
      [0, 0],
      [1, 8000],
      [2, 16000], // 64 Mbit/s for 2 ms
      [200, 16000], // a 200 ms stall
      [201, 24000],
      [202, 32000],
    ];
    expect(peakRate(stalled, 8000)).toBeCloseTo(64_000, 0);
    // The same bytes reported twice at one instant count once.
    expect(
      peakRate(
        [
          [0, 0],
          [10, 500],
          [10, 1000],
        ],
        1000,
      ),
    ).toBeCloseTo(800, 6);
  });

  it('is null when the window does not fit', () => {
    expect(peakRate(linear(800, 100), 1e9)).toBeNull();
    expect(peakRate([[5, 100]], 10)).toBeNull();
    expect(peakWindow(1 << 20)).toBe(128 * 1024);
    expect(peakWindow(100)).toBe(4096);
  });
});

/** A transfer at a steady rate (kbit/s) for `ms`, with `slices` samples around that rate. */
function steady(kbit: number, ms: number, options: Partial<TransferObservation> = {}): TransferObservation {
  const bytes = Math.round((kbit * ms) / 8);
  const progress: [number, number][] = Array.from({ length: 21 }, (_, i) => [
    (ms * i) / 20,
    Math.round((bytes * i) / 20),
  ]);
  return {
    failed_operation: null,
    failure: null,
    handshake_bytes_received: 0,
    bytes,
    goodput_kbit_s: kbit,
    slices_kbit_s: sliceRates(progress, 0, ms, 10),
    progress,
    timed_out: false,
    ...options,
  };
}

/** A transfer at the given speed between a long stall: slow overall, fast when moving. */
function stalled(kbit: number, stallMs: number): TransferObservation {
  const half = Math.round((kbit * 10) / 8 / 2);
  const progress: [number, number][] = [
    [0, 0],
    [5, half],
    [5 + stallMs, half],
    [10 + stallMs, 2 * half],
  ];
  return {
    failed_operation: null,
    failure: null,
    handshake_bytes_received: 0,
    bytes: 2 * half,
    goodput_kbit_s: (2 * half * 8) / (10 + stallMs),
    slices_kbit_s: sliceRates(progress, 0, 10 + stallMs, 10),
    progress,
    timed_out: false,
  };
}

const failedHandshake = (failure: string, handshakeBytes: number): TransferObservation => ({
  failed_operation: 'tls_handshake',
  failure,
  handshake_bytes_received: handshakeBytes,
  bytes: 0,
  goodput_kbit_s: null,
  slices_kbit_s: [],
  progress: [],
  timed_out: false,
});

const pairs = (n: number, target: () => TransferObservation, control: () => TransferObservation) =>
  Array.from({ length: n }, (): TransferPair => ({ target: target(), control: control() }));

describe('decideThrottling', () => {
  it('calls identical target and control not throttled', () => {
    const d = decideThrottling(
      pairs(
        3,
        () => steady(5000, 800),
        () => steady(5000, 800),
      ),
    );
    expect(d).toMatchObject({ decision: 'not_throttled', verdict: 'ok', ratio: 1, peak_ratio: 1 });
    expect(d.p_value).toBeGreaterThan(0.4);
  });

  it('calls a target at 3 % of the control, in every pair, throttled (the Russian Twitter numbers)', () => {
    const d = decideThrottling(
      pairs(
        3,
        () => steady(110, 10_000, { timed_out: true, failure: 'generic_timeout_error' }),
        () => steady(3500, 1200),
      ),
    );
    expect(d.decision).toBe('throttled');
    expect(d.verdict).toBe('throttled');
    expect(d.ratio).toBeCloseTo(110 / 3500, 3);
    expect(d.peak_ratio).toBeLessThan(0.05);
    expect(d.p_value).toBeLessThan(1e-6);
    expect(d.timeouts_after_progress).toBe(3);
    expect(d.reason).toMatch(/timed out after progress/);
  });

  it('calls a tenth of the speed throttled', () => {
    const d = decideThrottling(
      pairs(
        3,
        () => steady(2000, 2000),
        () => steady(20_000, 200),
      ),
    );
    expect(d.decision).toBe('throttled');
    expect(d.ratio).toBeCloseTo(0.1, 3);
  });

  it('calls uniform slowness (congestion, a slow site) not throttled', () => {
    const d = decideThrottling(
      pairs(
        3,
        () => steady(900, 4000),
        () => steady(1000, 3600),
      ),
    );
    expect(d.decision).toBe('not_throttled');
    expect(d.ratio).toBeCloseTo(0.9, 3);
  });

  it('calls a target slowed by stalls but as fast as the control between them not throttled', () => {
    const d = decideThrottling(
      pairs(
        3,
        () => stalled(400_000, 200),
        () => steady(400_000, 10),
      ),
    );
    expect(d.ratio).toBeLessThan(0.1);
    expect(d.peak_ratio).toBeGreaterThan(0.5);
    expect(d).toMatchObject({ decision: 'not_throttled', verdict: 'ok' });
    expect(d.reason).toMatch(/no rate ceiling/);
  });

  it('wants the slowdown in every pair: otherwise inconclusive', () => {
    const d = decideThrottling([
      { target: steady(100, 5000), control: steady(10_000, 500) },
      { target: steady(100, 5000), control: steady(10_000, 500) },
      { target: steady(8000, 600), control: steady(10_000, 500) },
    ]);
    expect(d.ratio).toBeLessThan(0.3);
    expect(d).toMatchObject({ decision: 'inconclusive', verdict: null });
    expect(d.reason).toMatch(/not slower in every pair/);
  });

  it('decides from one repeat when that pair is clear-cut', () => {
    const one = decideThrottling(
      pairs(
        1,
        () => steady(100, 5000),
        () => steady(10_000, 500),
      ),
    );
    expect(one.decision).toBe('throttled');
    expect(one.pair_ratios).toHaveLength(1);
    const ok = decideThrottling(
      pairs(
        1,
        () => steady(10_000, 500),
        () => steady(10_000, 500),
      ),
    );
    expect(ok.decision).toBe('not_throttled');
  });

  it('is not significant with too few samples, however large the effect', () => {
    const d = decideThrottling(
      pairs(
        1,
        () => steady(100, 5000),
        () => steady(10_000, 500),
      ),
      { alpha: 1e-9 },
    );
    expect(d.decision).toBe('inconclusive');
    expect(d.reason).toMatch(/not significant/);
  });

  it('calls a target that never gets a byte through, while the control does, blocked', () => {
    const d = decideThrottling(
      pairs(
        3,
        () => failedHandshake('generic_timeout_error', 0),
        () => steady(5000, 800),
      ),
    );
    expect(d).toMatchObject({ decision: 'blocked', verdict: 'blocked' });
  });

  it('calls handshakes that stall after the server started answering throttled (zero progress in the body)', () => {
    const d = decideThrottling(
      pairs(
        3,
        () => failedHandshake('generic_timeout_error', 1024),
        () => steady(5000, 800),
      ),
    );
    expect(d).toMatchObject({ decision: 'stalled_after_progress', verdict: 'throttled' });
  });

  it('counts a target that stalls in one pair as zero speed in the others', () => {
    const d = decideThrottling([
      { target: steady(100, 5000), control: steady(10_000, 500) },
      { target: failedHandshake('generic_timeout_error', 900), control: steady(10_000, 500) },
      { target: steady(100, 5000), control: steady(10_000, 500) },
    ]);
    expect(d.decision).toBe('throttled');
    expect(d.pair_ratios[1]).toBe(0);
  });

  it('has nothing to compare with when the control fails', () => {
    expect(
      decideThrottling(
        pairs(
          2,
          () => steady(100, 5000),
          () => failedHandshake('connection_reset', 0),
        ),
      ),
    ).toMatchObject({ decision: 'no_control', verdict: null });
    expect(
      decideThrottling(
        pairs(
          2,
          () => failedHandshake('connection_reset', 0),
          () => failedHandshake('connection_reset', 0),
        ),
      ),
    ).toMatchObject({ decision: 'unreachable', verdict: null });
    expect(decideThrottling([])).toMatchObject({ decision: 'unreachable', verdict: null });
  });

  it('does not compare with a control that got another answer (status, or size when both finished)', () => {
    const misdirected = decideThrottling(
      pairs(
        3,
        () => steady(300, 100, { complete: true, status: 200 }),
        () => steady(20_000, 100, { complete: true, status: 421 }),
      ),
    );
    expect(misdirected).toMatchObject({ decision: 'no_control', verdict: null });
    expect(misdirected.reason).toMatch(/status 200 vs 421/);
    // A 4 KB page against a default site's 512 KiB: the small one is slower only for its size.
    const otherSite = decideThrottling(
      pairs(
        3,
        () => steady(300, 100, { complete: true, status: 200 }),
        () => steady(20_000, 200, { complete: true, status: 200 }),
      ),
    );
    expect(otherSite.decision).toBe('no_control');
    expect(otherSite.reason).toMatch(/bytes/);
    // A throttled target that ran out of time is not "another size".
    const throttled = decideThrottling(
      pairs(
        3,
        () => steady(100, 5000, { complete: false, timed_out: true, status: 200 }),
        () => steady(10_000, 500, { complete: true, status: 200 }),
      ),
    );
    expect(throttled.decision).toBe('throttled');
  });

  it('leaves out pairs whose control failed, and targets that could not connect', () => {
    const d = decideThrottling([
      { target: steady(100, 5000), control: failedHandshake('connection_reset', 0) },
      { target: steady(5000, 800), control: steady(5000, 800) },
      {
        target: { ...failedHandshake('generic_timeout_error', 0), failed_operation: 'connect' },
        control: steady(5000, 800),
      },
    ]);
    expect(d.pair_ratios).toEqual([1]);
    expect(d.decision).toBe('not_throttled');
  });
});
