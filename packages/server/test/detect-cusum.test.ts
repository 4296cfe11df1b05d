import { describe, expect, it } from 'vitest';
import { CUSUM_DEFAULTS, type CusumConfig, cusumThreshold, detectCusum } from '../src/detection/cusum.js';
import { alertsToWindows } from '../src/detection/windows.js';
import type { SignalSeries } from '../src/signals/types.js';

const STEP = 3600;
const FROM = 1_695_081_600; // 2023-09-19T00:00Z
const at = (i: number) => FROM + i * STEP;

/** Hourly blocked fractions with `n` measurements per hour (null: none that hour). */
function fractions(values: Array<number | null>, n = 10): SignalSeries {
  return {
    entity: 'asn:29049+platform:tiktok',
    signal: 'measurement.blocked_fraction',
    step: STEP,
    from: FROM,
    values,
    counts: values.map((v) => (v === null ? 0 : n)),
  };
}

const config: CusumConfig = { ...CUSUM_DEFAULTS };

function ok(n: number): number[] {
  // Some noise: a few measurements fail for ordinary reasons.
  return Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0.1 : 0));
}

describe('two-state CUSUM on a blocked fraction', () => {
  it("uses OONI's threshold h = edd·(μ1−μ0)/2", () => {
    expect(cusumThreshold({ mu0: 0, mu1: 0.7, expectedDelaySteps: 20 })).toBeCloseTo(7);
  });

  it('dates blocking at the change point, critical, and closes when it lifts', () => {
    const values = [...ok(48), ...new Array(24).fill(0.9), ...ok(48)];
    const alerts = detectCusum(fractions(values), config);
    expect(alerts.map((a) => [a.level, a.time])).toEqual([
      ['critical', at(48)],
      ['normal', at(72)],
    ]);
    // h = 3·0.7/2 = 1.05; each blocked hour adds 0.9 − 0.35 = 0.55, so the second hour crosses.
    expect(alerts[0]?.raisedAt).toBe(at(50));
    const [w] = alertsToWindows(alerts, STEP);
    expect(w).toMatchObject({ start: at(48), end: at(72), detector: 'cusum', level: 'critical' });
  });

  it('ordinary noise opens nothing', () => {
    const values = Array.from({ length: 200 }, (_, i) => [0, 0.1, 0, 0.3, 0, 0.2][i % 6] as number);
    expect(detectCusum(fractions(values), config)).toEqual([]);
  });

  it('never alerts on fewer measurements than the minimum', () => {
    const values = [...ok(24), ...new Array(12).fill(1), ...ok(24)];
    // One measurement an hour weighs a fifth of a full hour: the change needs 9 such hours, and
    // at most 12 blocked measurements stand behind it.
    expect(detectCusum(fractions(values, 1), { ...config, minMeasurements: 20 })).toEqual([]);
    expect(detectCusum(fractions(values, 1), { ...config, minMeasurements: 5 })[0]).toMatchObject({
      level: 'critical',
      time: at(24),
    });
    // Ten measurements an hour weigh fully: two hours suffice.
    expect(detectCusum(fractions(values, 10), config)[0]?.raisedAt).toBe(at(26));
  });

  it('empty hours are no evidence: a long silence ends the claim instead of freezing it', () => {
    const values: Array<number | null> = [...ok(24), ...new Array(10).fill(0.9), ...new Array(48).fill(null)];
    const alerts = detectCusum(fractions(values), config);
    expect(alerts.map((a) => [a.level, a.time, a.value])).toEqual([
      ['critical', at(24), expect.any(Number)],
      // Closed at the first empty hour, value null: Pharos does not claim what it did not see.
      ['normal', at(34), null],
    ]);
  });

  it('a short gap does not end blocking, and evidence decays over empty hours', () => {
    const values: Array<number | null> = [
      ...ok(24),
      ...new Array(6).fill(0.9),
      ...new Array(5).fill(null),
      ...new Array(6).fill(0.9),
    ];
    const alerts = detectCusum(fractions(values), config);
    expect(alerts.map((a) => a.level)).toEqual(['critical']);
    // Evidence before a long gap has decayed away after it; before a short one it still counts.
    // Each 0.8 hour adds 0.45 against h = 1.05: two are not enough, three are.
    const far: Array<number | null> = [...ok(24), 0.8, 0.8, ...new Array(30).fill(null), 0.8];
    expect(detectCusum(fractions(far), config)).toEqual([]);
    const close: Array<number | null> = [...ok(24), 0.8, 0.8, null, 0.8];
    expect(detectCusum(fractions(close), config).map((a) => a.level)).toEqual(['critical']);
  });

  it('late data is re-evaluated by running again', () => {
    const values: Array<number | null> = [...ok(24), ...new Array(12).fill(null), ...ok(12)];
    expect(detectCusum(fractions(values), config)).toEqual([]);
    // The outbox uploads after the blackout: the empty hours were blocked.
    const late = [...values];
    for (let i = 24; i < 36; i++) late[i] = 0.95;
    const alerts = detectCusum(fractions(late), config);
    expect(alerts.map((a) => [a.level, a.time])).toEqual([
      ['critical', at(24)],
      ['normal', at(36)],
    ]);
  });

  it('a series that starts blocked is reported; one that starts fine is silent', () => {
    expect(detectCusum(fractions(new Array(10).fill(0.9)), config)[0]).toMatchObject({
      level: 'critical',
      time: at(0),
    });
    expect(detectCusum(fractions(ok(10)), config)).toEqual([]);
  });
});
