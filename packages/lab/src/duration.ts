/**
 * Durations in scenario files: `30s`, `2m`, `1.5s`, `500ms`, or a bare number of seconds. Timeline
 * expectations may also count beacon intervals (`2 intervals`), resolved once the interval is known.
 */

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, min: 60, h: 3600 };

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)$/;
export const INTERVALS_PATTERN = /^(\d+(?:\.\d+)?)\s*intervals?$/;

/** Seconds, from a number of seconds or a text such as `30s`; null when it is neither. */
export function parseDuration(value: number | string): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  const m = DURATION_PATTERN.exec(value.trim());
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : null;
}

/** Seconds, from a duration or a count of intervals of INTERVAL seconds; null when it is neither. */
export function parseSpan(value: number | string, interval: number): number | null {
  if (typeof value === 'string') {
    const m = INTERVALS_PATTERN.exec(value.trim());
    if (m) return Number(m[1]) * interval;
  }
  return parseDuration(value);
}

/** `90` → `90s`, `0.5` → `0.5s`: how a duration is shown back to a user. */
export function formatSeconds(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}
