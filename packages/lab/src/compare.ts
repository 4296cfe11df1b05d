import type { Expectation } from './spec.js';

/** The verdict fields a scenario can state, as the probe reported them. */
export interface Verdict {
  blocking?: unknown;
  accessible?: unknown;
  mechanism?: unknown;
  dns_consistency?: unknown;
  confirmed?: unknown;
  verdict?: unknown;
}

const COMPARED = ['blocking', 'accessible', 'mechanism', 'dns_consistency', 'confirmed', 'verdict'] as const;

/** The fields of any experiment's measurement (OONI keys, and Pharos's `x_` keys). */
export function verdictOf(measurement: { test_keys?: unknown }): Required<Verdict> {
  const tk = (measurement.test_keys ?? {}) as Record<string, unknown>;
  return {
    blocking: tk.blocking,
    accessible: tk.accessible,
    mechanism: tk.x_mechanism,
    dns_consistency: tk.dns_consistency,
    confirmed: tk.x_confirmed,
    verdict: tk.x_verdict,
  };
}

/**
 * Compare what was expected with what the probe said. A field absent from the expectation is not
 * compared (the contract); `got` carries the same fields as `expected`, so a reader sees the pair.
 */
export function compareVerdict(
  expectation: Expectation,
  got: Required<Verdict>,
): { pass: boolean; expected: Verdict; got: Verdict } {
  const expected: Verdict = {};
  const shown: Verdict = {};
  let pass = true;
  for (const key of COMPARED) {
    if (!(key in expectation)) continue;
    const want = expectation[key];
    expected[key] = want;
    shown[key] = got[key];
    if (got[key] !== want) pass = false;
  }
  return { pass, expected, got: shown };
}
