/**
 * The probe's own recent history of each target's speed (OONI dd-007's "the same target, from the
 * same network, in the past"): a small JSON file in the state directory. It never decides alone
 * that a target is throttled — without a control on the same path a slower result could be the
 * whole network being slower — but it tells a target that is slow today from one that always was.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { median } from '@pharos/core';

export const BASELINE_FILE = 'throttling-baseline.json';
/** Entries kept per target, and how far back they count. */
export const BASELINE_KEEP = 20;
export const BASELINE_MAX_AGE_DAYS = 30;
/** Entries (with an ok verdict) needed before the baseline is compared with. */
export const BASELINE_MIN_ENTRIES = 3;
/** At most this many targets are remembered; the least recently measured go first. */
const MAX_TARGETS = 500;

export interface BaselineEntry {
  /** ISO time of the measurement. */
  time: string;
  target_kbit_s: number;
  control_kbit_s: number | null;
  verdict: string | null;
}

interface BaselineFile {
  version: 1;
  targets: Record<string, BaselineEntry[]>;
}

export interface BaselineComparison {
  /** Entries with an ok verdict in the window that the medians come from. */
  entries: number;
  target_kbit_s: number | null;
  control_kbit_s: number | null;
  /** Today's median / the baseline's, for the target and for the control. */
  target_ratio: number | null;
  control_ratio: number | null;
}

export function baselineKey(network: string | undefined, url: URL): string {
  return `${network ?? 'any'} ${url.protocol}//${url.host}${url.pathname}`;
}

async function load(file: string): Promise<BaselineFile> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<BaselineFile>;
    if (parsed.version === 1 && parsed.targets && typeof parsed.targets === 'object')
      return { version: 1, targets: parsed.targets };
  } catch {
    // Missing or unreadable: start afresh.
  }
  return { version: 1, targets: {} };
}

/** The entries of KEY that are recent enough, newest last. */
export async function readBaseline(stateDir: string, key: string, now: Date): Promise<BaselineEntry[]> {
  const data = await load(path.join(stateDir, BASELINE_FILE));
  const oldest = now.getTime() - BASELINE_MAX_AGE_DAYS * 86_400_000;
  return (data.targets[key] ?? []).filter((e) => {
    const t = Date.parse(e.time);
    return Number.isFinite(t) && t >= oldest && t <= now.getTime() + 60_000;
  });
}

export async function appendBaseline(stateDir: string, key: string, entry: BaselineEntry): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, BASELINE_FILE);
  const data = await load(file);
  const list = [...(data.targets[key] ?? []), entry].slice(-BASELINE_KEEP);
  delete data.targets[key];
  data.targets[key] = list; // re-inserted last: insertion order is recency
  const keys = Object.keys(data.targets);
  for (const old of keys.slice(0, Math.max(0, keys.length - MAX_TARGETS))) delete data.targets[old];
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

/** Compares today's medians with the baseline's ok entries; ratios are null below BASELINE_MIN_ENTRIES. */
export function compareBaseline(
  entries: BaselineEntry[],
  target: number | null,
  control: number | null,
): BaselineComparison {
  const ok = entries.filter((e) => e.verdict === 'ok').slice(-10);
  const t = median(ok.map((e) => e.target_kbit_s));
  const c = median(ok.map((e) => e.control_kbit_s).filter((x): x is number => x !== null));
  const enough = ok.length >= BASELINE_MIN_ENTRIES;
  const ratio = (now: number | null, past: number) =>
    enough && now !== null && Number.isFinite(past) && past > 0 ? Number((now / past).toPrecision(4)) : null;
  return {
    entries: ok.length,
    target_kbit_s: Number.isFinite(t) ? Number(t.toPrecision(4)) : null,
    control_kbit_s: Number.isFinite(c) ? Number(c.toPrecision(4)) : null,
    target_ratio: ratio(target, t),
    control_ratio: ratio(control, c),
  };
}
