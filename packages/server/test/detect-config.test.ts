import { describe, expect, it } from 'vitest';
import {
  detectAll,
  detectorsFor,
  detectSeries,
  parseDetectionConfig,
  rejectWideWaves,
} from '../src/detection/config.js';
import type { Alert, AnomalyWindow } from '../src/detection/types.js';
import { alertsToWindows } from '../src/detection/windows.js';
import type { SignalSeries } from '../src/signals/types.js';

const STEP = 300;
const FROM = 1_695_081_600;

describe('detector configuration', () => {
  it('has defaults by signal family from the research', () => {
    expect(detectorsFor('bgp.visible_slash24')).toEqual([
      expect.objectContaining({
        detector: 'median',
        config: expect.objectContaining({ historySeconds: 86400, warningRatio: 0.99, criticalRatio: 0.5 }),
      }),
    ]);
    expect(detectorsFor('ping-slash24')[0]?.config).toMatchObject({
      historySeconds: 7 * 86400,
      warningRatio: 0.8,
      criticalRatio: 0.5,
    });
    expect(detectorsFor('merit-nt')[0]?.config).toMatchObject({ warningRatio: 0.25, criticalRatio: 0.1 });
    expect(detectorsFor('beacon.active')[0]?.config).toMatchObject({ warningRatio: 0.8, criticalRatio: 0.5 });
    expect(detectorsFor('beacon.disconnected').map((d) => d.detector)).toEqual(['burst']);
    expect(detectorsFor('measurement.blocked_fraction')[0]).toMatchObject({
      detector: 'cusum',
      config: { mu0: 0, mu1: 0.7 },
    });
    expect(detectorsFor('measurement.measured')).toEqual([]);
  });

  it('overrides by exact name or by prefix, switch detectors off, or add one', () => {
    const cfg = {
      signals: {
        'bgp.*': { median: { warningRatio: 0.95 } },
        'bgp.visible_prefixes': { median: false as const },
        'beacon.disconnected': { burst: { minProbes: 8 } },
        'ping-slash24': { cusum: { mu1: 0.5 } },
      },
    };
    expect(detectorsFor('bgp.visible_slash24', cfg)[0]?.config).toMatchObject({
      warningRatio: 0.95,
      criticalRatio: 0.5,
    });
    expect(detectorsFor('bgp.visible_prefixes', cfg)).toEqual([]);
    expect(detectorsFor('beacon.disconnected', cfg)[0]?.config).toMatchObject({
      minProbes: 8,
      minFraction: 0.5,
    });
    expect(detectorsFor('ping-slash24', cfg).map((d) => d.detector)).toEqual(['median', 'cusum']);
  });

  it('rejects a bad config naming the field', () => {
    expect(() => parseDetectionConfig({ signals: { 'bgp.*': { median: { warningRatio: 'x' } } } })).toThrow(
      /signals\.bgp\.\*\.median\.warningRatio/,
    );
    expect(() => parseDetectionConfig({ signals: { gtr: { median: { typo: 1 } } } })).toThrow(
      /signals\.gtr\.median/,
    );
    expect(() => parseDetectionConfig({ nope: 1 })).toThrow();
  });

  it('detectSeries runs the configured detectors; a burst needs its active series', () => {
    const n = 40;
    const active = Array.from({ length: n }, (_, i) => (i >= 10 && i < 30 ? 0 : 4));
    const lost = active.map((a, i) => (i === 0 ? null : Math.max(0, (active[i - 1] as number) - a)));
    const base = { entity: 'asn:29049', step: STEP, from: FROM };
    const A: SignalSeries = { ...base, signal: 'beacon.active', values: active, counts: active };
    const D: SignalSeries = { ...base, signal: 'beacon.disconnected', values: lost, counts: active };
    expect(detectSeries(D)).toEqual([]);
    const [w] = detectSeries(D, undefined, [A]);
    expect(w).toMatchObject({
      detector: 'burst',
      start: FROM + 10 * STEP,
      end: FROM + 30 * STEP,
      level: 'critical',
    });
    expect(detectAll([A, D]).filter((x) => x.detector === 'burst')).toHaveLength(1);
  });
});

describe('alerts to windows', () => {
  const alert = (time: number, level: Alert['level'], value = 1, expected = 10): Alert => ({
    entity: 'country:AZ',
    signal: 'ping-slash24',
    detector: 'median',
    level,
    time,
    value,
    expected,
  });

  it('opens on non-normal, keeps the worst level and ratio, closes on the next normal', () => {
    const windows = alertsToWindows(
      [
        alert(100, 'warning', 7),
        alert(200, 'critical', 2),
        alert(300, 'normal', 10),
        alert(600, 'warning', 6),
      ],
      100,
    );
    expect(windows).toHaveLength(2);
    expect(windows[0]).toMatchObject({ start: 100, end: 300, level: 'critical', worstRatio: 0.2 });
    expect(windows[0]?.alerts).toHaveLength(3);
    expect(windows[1]).toMatchObject({ start: 600, end: null, level: 'warning' });
  });

  it('a normal alert without an open window is ignored', () => {
    expect(alertsToWindows([alert(100, 'normal')], 100)).toEqual([]);
  });
});

describe('waves across many countries', () => {
  const burst = (entity: string, start: number): AnomalyWindow => ({
    entity,
    signal: 'beacon.disconnected',
    detector: 'burst',
    step: STEP,
    start,
    end: start + 10 * STEP,
    level: 'critical',
    worstRatio: 0,
    alerts: [],
  });

  it('drops bursts that start together in more countries than a network spans', () => {
    const wave = ['country:DE', 'country:FR', 'country:NL', 'country:US', 'asn:3320'].map((e, i) =>
      burst(e, FROM + (i % 2) * STEP),
    );
    const alone = burst('country:AZ', FROM + 50 * STEP);
    expect(rejectWideWaves([...wave, alone], { withinSteps: 1, maxCountries: 3 })).toEqual([alone]);
  });

  it('keeps a national shutdown: many networks, one country', () => {
    const national = ['country:AZ', 'asn:28787', 'asn:31721', 'asn:197830'].map((e) => burst(e, FROM));
    expect(rejectWideWaves(national, { withinSteps: 1, maxCountries: 3 })).toHaveLength(4);
  });
});
