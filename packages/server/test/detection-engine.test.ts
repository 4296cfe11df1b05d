import { describe, expect, it } from 'vitest';
import { DetectionEngine, type DetectionPipeline, seriesOf } from '../src/detection/engine.js';
import type { AnomalyWindow } from '../src/detection/types.js';
import type { SignalPoint } from '../src/signals/types.js';

const point = (time: number, value: number, signal = 'beacon.active', step = 60): SignalPoint => ({
  entity: 'asn:29049',
  signal,
  time,
  step,
  value,
  count: value,
});

describe('detection engine', () => {
  it('judges complete steps only: a step in progress is left for the next pass', () => {
    const engine = new DetectionEngine({
      pipeline: {} as DetectionPipeline,
      step: 60,
      lookback: 3600,
      grace: 5,
    });
    // 10:00:30 is inside the step 10:00–10:01; the last complete step ends at 10:00.
    const now = Date.UTC(2026, 0, 1, 10, 0, 30) / 1000;
    const range = engine.rangeAt(now);
    expect(new Date(range.until * 1000).toISOString()).toBe('2026-01-01T10:00:00.000Z');
    expect(range.until - range.from).toBe(3600);
    // Within the grace after a boundary, the step that just ended is still open for stragglers.
    expect(engine.rangeAt(Date.UTC(2026, 0, 1, 10, 1, 3) / 1000).until).toBe(range.until);
    expect(engine.rangeAt(Date.UTC(2026, 0, 1, 10, 1, 6) / 1000).until).toBe(range.until + 60);
  });

  it('groups points into one dense series per entity, signal and step, with gaps as null', () => {
    const series = seriesOf(
      [
        point(0, 5),
        point(120, 4),
        point(0, 1, 'beacon.disconnected'),
        point(300, 9, 'bgp.visible_slash24', 300),
      ],
      { from: 0, until: 600 },
    );
    const active = series.find((s) => s.signal === 'beacon.active');
    expect(active?.values).toEqual([5, null, 4, null, null, null, null, null, null, null]);
    expect(series.find((s) => s.signal === 'bgp.visible_slash24')?.values).toEqual([null, 9]);
    expect(series).toHaveLength(3);
  });

  it('hands every window of a pass to the incident step and reports what it did', async () => {
    const seen: AnomalyWindow[][] = [];
    const pipeline: DetectionPipeline = {
      gather: async () => [point(0, 5), point(60, 0)],
      detect: (series) =>
        series.map((s) => ({
          entity: s.entity,
          signal: s.signal,
          detector: 'burst',
          step: s.step,
          start: 60,
          end: null,
          level: 'critical',
          worstRatio: 0,
          alerts: [],
        })),
      decide: async (windows) => {
        seen.push(windows);
        return { changes: 1 };
      },
    };
    const engine = new DetectionEngine({ pipeline, step: 60, lookback: 600, now: () => 130_000 });
    const report = await engine.pass();
    expect(report).toMatchObject({ series: 1, windows: 1, ongoing: 1, changes: 1 });
    expect(seen[0]?.[0]?.entity).toBe('asn:29049');
    expect(engine.status()).toMatchObject({ passes: 1, lastError: null });
  });

  it('a scheduled pass that fires a little early still judges the step that has just ended', async () => {
    const ranges: Array<{ until: number }> = [];
    const pipeline: DetectionPipeline = {
      gather: async (range) => {
        ranges.push(range);
        return [];
      },
      detect: () => [],
      decide: async () => ({ changes: 0 }),
    };
    // Due at 10:01:01 (step end plus a 1 s grace); the timer fired at 10:01:00.999.
    const due = Date.UTC(2026, 0, 1, 10, 1, 1) / 1000;
    const engine = new DetectionEngine({
      pipeline,
      step: 60,
      lookback: 600,
      grace: 1,
      now: () => due * 1000 - 1,
    });
    await engine.pass(due);
    expect(ranges[0]?.until).toBe(Date.UTC(2026, 0, 1, 10, 1, 0) / 1000);
    // Without a due time the same clock judges one step less.
    await engine.pass();
    expect(ranges[1]?.until).toBe(Date.UTC(2026, 0, 1, 10, 0, 0) / 1000);
  });

  it('a failing pass is reported in the status and does not stop the engine', async () => {
    const pipeline: DetectionPipeline = {
      gather: async () => {
        throw new Error('signals database is closed');
      },
      detect: () => [],
      decide: async () => ({ changes: 0 }),
    };
    const engine = new DetectionEngine({ pipeline, step: 60, lookback: 600 });
    expect(await engine.pass()).toBeNull();
    expect(engine.status().lastError).toBe('signals database is closed');
  });
});
