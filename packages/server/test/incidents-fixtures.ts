/** Anomaly windows as detectors would produce them, for the incident tests. */
import type { AnomalyWindow, DetectorName } from '../src/detection/types.js';

/** Epoch seconds of 2023-09-19T06:00:00Z, when the Fuzuli cut began. */
export const T0 = Date.parse('2023-09-19T06:00:00Z') / 1000;

export const AZ_ASNS: Record<number, string> = {
  28787: 'AZ',
  29049: 'AZ',
  31721: 'AZ',
  197830: 'AZ',
  16010: 'GE',
};

export const countryOf = (asn: number) => AZ_ASNS[asn] ?? null;

export function win(
  entity: string,
  signal: string,
  start: number,
  end: number | null,
  options: {
    step?: number;
    level?: 'warning' | 'critical';
    ratio?: number;
    expected?: number;
    detector?: DetectorName;
  } = {},
): AnomalyWindow {
  const detector =
    options.detector ??
    (signal.startsWith('beacon.') ? 'burst' : signal.startsWith('measurement.blocked') ? 'cusum' : 'median');
  const level = options.level ?? 'critical';
  const expected = options.expected ?? 10;
  const ratio = options.ratio ?? 0;
  return {
    entity,
    signal,
    detector,
    step: options.step ?? 60,
    start,
    end,
    level,
    worstRatio: ratio,
    alerts: [
      { entity, signal, detector, level, time: start, value: expected * ratio, expected },
      ...(end === null
        ? []
        : [{ entity, signal, detector, level: 'normal' as const, time: end, value: expected, expected }]),
    ],
  };
}
