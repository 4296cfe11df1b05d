/** Durations on the command line: `90` or `90s` (seconds), `5m`, `1h`, `7d`. */
import { UsageError } from './usage-error.js';

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

export function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] ?? ''] ?? Number.NaN) : Number.NaN;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new UsageError(`${option} "${value}": expected a duration such as 30s, 5m, 1h or 7d`);
  }
  return seconds;
}
