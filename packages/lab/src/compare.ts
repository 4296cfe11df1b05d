import type { WebConnectivityMeasurement } from '@pharos/core';
import type { Expectation } from './spec.js';

/** The verdict fields a scenario can state, as the probe reported them. */
export interface Verdict {
  blocking?: unknown;
  accessible?: unknown;
  mechanism?: unknown;
  dns_consistency?: unknown;
  confirmed?: unknown;
}

export function verdictOf(m: WebConnectivityMeasurement): Required<Verdict> {
  const tk = m.test_keys;
  return {
    blocking: tk.blocking,
    accessible: tk.accessible,
    mechanism: tk.x_mechanism,
    dns_consistency: tk.dns_consistency,
    confirmed: tk.x_confirmed,
  };
}

const COMPARED = ['blocking', 'accessible', 'mechanism', 'dns_consistency', 'confirmed'] as const;

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
