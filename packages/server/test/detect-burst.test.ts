import { describe, expect, it } from 'vitest';
import { BURST_DEFAULTS, type BurstConfig, burstCandidates, detectBursts } from '../src/detection/burst.js';
import { alertsToWindows } from '../src/detection/windows.js';
import type { SignalSeries } from '../src/signals/types.js';

const STEP = 60;
const FROM = 1_695_081_600;
const at = (i: number) => FROM + i * STEP;

/**
 * Beacon series of one entity from each probe's heard steps: `heard[p][i]` is whether probe p was
 * heard in step i. disconnected[i] counts probes heard in i−1 and not in i, as the server does.
 */
function beacons(heard: boolean[][], entity = 'asn:29049'): { active: SignalSeries; lost: SignalSeries } {
  const n = heard[0]?.length ?? 0;
  const active = Array.from({ length: n }, (_, i) => heard.filter((p) => p[i]).length);
  const lost: Array<number | null> = Array.from({ length: n }, (_, i) =>
    i === 0 ? null : heard.filter((p) => p[i - 1] && !p[i]).length,
  );
  const base = { entity, step: STEP, from: FROM };
  return {
    active: { ...base, signal: 'beacon.active', values: active, counts: [...active] },
    lost: {
      ...base,
      signal: 'beacon.disconnected',
      values: lost,
      counts: active.map((_, i) => (i === 0 ? 0 : (active[i - 1] as number))),
    },
  };
}

/** A probe heard in every step except those in `silent`. */
function probe(n: number, ...silent: Array<[number, number]>): boolean[] {
  return Array.from({ length: n }, (_, i) => !silent.some(([a, b]) => i >= a && i < b));
}

const config: BurstConfig = { ...BURST_DEFAULTS, minProbes: 2, minActive: 2, minSilentSteps: 2 };

describe('disconnection-burst detector', () => {
  it('opens at the first silent step when most probes go silent together, and closes when they return', () => {
    const n = 60;
    const { active, lost } = beacons([
      probe(n, [20, 40]),
      probe(n, [20, 41]),
      probe(n, [21, 40]), // one notices a step later
      probe(n),
    ]);
    const alerts = detectBursts(lost, active, config);
    expect(alerts.map((a) => [a.level, a.time])).toEqual([
      ['warning', at(20)],
      ['normal', at(40)],
    ]);
    // Two of four silent at step 20 are enough; known once they stayed silent through step 21.
    expect(alerts[0]).toMatchObject({ value: 1, expected: 4, raisedAt: at(22) });
    const [w] = alertsToWindows(alerts, STEP);
    expect(w).toMatchObject({ start: at(20), end: at(40), worstRatio: 0.25 });
  });

  it('is critical when (nearly) all probes go silent', () => {
    const n = 40;
    const { active, lost } = beacons([probe(n, [10, 30]), probe(n, [10, 30]), probe(n, [10, 30])]);
    const alerts = detectBursts(lost, active, config);
    expect(alerts.map((a) => [a.level, a.time])).toEqual([
      ['critical', at(10)],
      ['normal', at(30)],
    ]);
  });

  it('ordinary churn opens nothing: probes going quiet one at a time', () => {
    const n = 120;
    const { active, lost } = beacons([
      probe(n, [10, 14], [70, 72]),
      probe(n, [30, 33]),
      probe(n, [50, 58]),
      probe(n, [90, 91], [100, 104]),
    ]);
    expect(detectBursts(lost, active, config)).toEqual([]);
  });

  it('probes that are back within a step (a reboot) do not make a burst', () => {
    const n = 40;
    const { active, lost } = beacons([probe(n, [10, 11]), probe(n, [10, 11]), probe(n, [10, 12]), probe(n)]);
    expect(burstCandidates(lost, active, config)).toEqual([at(10)]);
    expect(detectBursts(lost, active, config)).toEqual([]);
  });

  it('needs the minimum number of probes and of the entity', () => {
    const n = 40;
    const two = beacons([probe(n, [10, 30]), probe(n, [10, 30]), probe(n), probe(n), probe(n), probe(n)]);
    // 2 of 6: enough probes, not enough of the entity.
    expect(detectBursts(two.lost, two.active, config)).toEqual([]);
    const small = beacons([probe(n, [10, 30]), probe(n, [10, 30])]);
    expect(detectBursts(small.lost, small.active, config)).toHaveLength(2);
    expect(detectBursts(small.lost, small.active, { ...config, minProbes: 3 })).toEqual([]);
  });

  it('missing steps are no evidence', () => {
    const n = 40;
    const { active, lost } = beacons([probe(n, [10, 30]), probe(n, [10, 30]), probe(n, [10, 30])]);
    for (let i = 15; i < 20; i++) active.values[i] = null;
    const alerts = detectBursts(lost, active, config);
    expect(alerts.map((a) => [a.level, a.time])).toEqual([
      ['critical', at(10)],
      ['normal', at(30)],
    ]);
  });

  it('late beacons re-run to a sharper picture', () => {
    const n = 40;
    const cut = beacons([probe(n, [10, 40]), probe(n, [10, 40]), probe(n, [10, 40])]);
    expect(detectBursts(cut.lost, cut.active, config).map((a) => a.level)).toEqual(['critical']);
    // The outboxes upload: two probes were in fact heard from step 25 (by a path that came back).
    const late = beacons([probe(n, [10, 25]), probe(n, [10, 25]), probe(n, [10, 40])]);
    expect(detectBursts(late.lost, late.active, config).map((a) => [a.level, a.time])).toEqual([
      ['critical', at(10)],
      ['normal', at(25)],
    ]);
  });

  it('refuses series that are not aligned', () => {
    const { active, lost } = beacons([probe(10)]);
    expect(() => detectBursts(lost, { ...active, step: 300 }, config)).toThrow(/aligned/);
  });
});
