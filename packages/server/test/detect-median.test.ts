import { describe, expect, it } from 'vitest';
import { detectMedian, MEDIAN_DEFAULTS, type MedianConfig } from '../src/detection/median.js';
import { alertsToWindows } from '../src/detection/windows.js';
import type { SignalSeries } from '../src/signals/types.js';

const STEP = 300;
const FROM = 1_700_000_100 - (1_700_000_100 % STEP);

function series(values: Array<number | null>, signal = 'bgp.visible_slash24'): SignalSeries {
  return {
    entity: 'asn:29049',
    signal,
    step: STEP,
    from: FROM,
    values,
    counts: values.map((v) => (v === null ? 0 : 1)),
  };
}

/** A steady signal around `level` with a deterministic ±2% wobble. */
function steady(n: number, level = 1000): number[] {
  return Array.from({ length: n }, (_, i) => level * (1 + 0.02 * Math.sin(i * 1.7)));
}

const config: MedianConfig = {
  ...MEDIAN_DEFAULTS,
  historySeconds: 24 * 3600,
  warmupSeconds: 3600,
  warningRatio: 0.8,
  criticalRatio: 0.5,
  inpaintBelow: 0.8,
  minDurationSeconds: 2 * STEP,
  recoverySeconds: 2 * STEP,
};

const at = (i: number) => FROM + i * STEP;

describe('moving-median detector', () => {
  it('catches a drop at the step it began, at the right level, and closes on recovery', () => {
    const values = steady(300);
    for (let i = 200; i < 230; i++) values[i] = 300; // 30% of normal: critical
    const alerts = detectMedian(series(values), config);
    expect(alerts.map((a) => [a.level, a.time])).toEqual([
      ['critical', at(200)],
      ['normal', at(230)],
    ]);
    expect(alerts[0]?.value).toBe(300);
    expect(alerts[0]?.expected).toBeGreaterThan(950);
    // It takes two steps to be sure, so a live pass would have known at the end of step 201.
    expect(alerts[0]?.raisedAt).toBe(at(202));
    const [w] = alertsToWindows(alerts, STEP);
    expect(w).toMatchObject({ start: at(200), end: at(230), level: 'critical' });
    expect(w?.worstRatio).toBeLessThan(0.35);
  });

  it('a partial drop is a warning, not critical', () => {
    const values = steady(300);
    for (let i = 200; i < 220; i++) values[i] = 700;
    const alerts = detectMedian(series(values), config);
    expect(alerts.map((a) => a.level)).toEqual(['warning', 'normal']);
  });

  it('noise and single-step dips open nothing', () => {
    const values = steady(400);
    values[150] = 100; // one bad step: shorter than the minimum duration
    values[260] = 3000; // a spike
    expect(detectMedian(series(values), config)).toEqual([]);
  });

  it('in-painting keeps the baseline through a long outage', () => {
    // 20 h down within a 24 h history: without in-painting the median would sink to the outage
    // level and declare it normal.
    const values = steady(700);
    for (let i = 300; i < 540; i++) values[i] = 200;
    const alerts = detectMedian(series(values), config);
    expect(alerts.map((a) => [a.level, a.time])).toEqual([
      ['critical', at(300)],
      ['normal', at(540)],
    ]);
    const off = detectMedian(series(values), {
      ...config,
      inpaintBelow: 0,
      inpaintAbove: Number.POSITIVE_INFINITY,
    });
    // The un-painted baseline drifts down and the "outage" ends by itself before the values recover.
    expect(off.find((a) => a.level === 'normal')?.time).toBeLessThan(at(540));
  });

  it('after the longest in-painting a lasting level shift becomes the new normal', () => {
    const values = steady(900);
    for (let i = 300; i < 900; i++) values[i] = 400;
    const alerts = detectMedian(series(values), { ...config, maxInpaintSeconds: 6 * 3600 });
    expect(alerts[0]).toMatchObject({ level: 'critical', time: at(300) });
    expect(alerts.at(-1)?.level).toBe('normal');
  });

  it('missing steps are not zeros: a gap opens nothing', () => {
    const values: Array<number | null> = steady(300);
    for (let i = 150; i < 200; i++) values[i] = null;
    expect(detectMedian(series(values), config)).toEqual([]);
  });

  it('late data changes the result when the pass runs again', () => {
    const values: Array<number | null> = steady(300);
    for (let i = 200; i < 230; i++) values[i] = null; // the probes' data has not arrived yet
    expect(detectMedian(series(values), config)).toEqual([]);
    const late = [...values];
    for (let i = 200; i < 230; i++) late[i] = 100;
    expect(detectMedian(series(late), config).map((a) => [a.level, a.time])).toEqual([
      ['critical', at(200)],
      ['normal', at(230)],
    ]);
  });

  it('a tiny baseline is not judged', () => {
    const values = steady(300, 5);
    for (let i = 200; i < 230; i++) values[i] = 1;
    expect(detectMedian(series(values), { ...config, minPrediction: 20 })).toEqual([]);
  });

  it('nothing is judged before the warm-up', () => {
    const values = steady(30);
    values[5] = 0;
    values[6] = 0;
    values[7] = 0;
    expect(detectMedian(series(values), { ...config, warmupSeconds: 12 * STEP })).toEqual([]);
  });

  it('is deterministic: the same series gives the same alerts', () => {
    const values = steady(300);
    for (let i = 100; i < 120; i++) values[i] = 0;
    expect(detectMedian(series(values), config)).toEqual(detectMedian(series([...values]), config));
  });
});
