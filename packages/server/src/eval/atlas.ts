/**
 * RIPE Atlas connection logs (measurement 7000: one record per probe-controller connect or
 * disconnect) turned into the beacon signals Pharos keeps for its own probes, so the burst
 * detector can be scored on Disco's data (research/outage-detection.md §3, §5).
 *
 * A probe counts as heard in a step when it was connected at any moment of it, the same as a
 * Pharos probe whose beacon arrived in the step; `beacon.disconnected` counts the probes heard in
 * the step before and not in this one. The step is 5 minutes: Atlas controllers notice a lost
 * session within a minute or two, Disco's events are dated to minutes, a firmware reboot keeps a
 * probe away about 5 minutes (median 307 s on 2016-07-13), and IODA's BGP signal uses the same
 * step, so signals can be compared step for step.
 *
 * The log only names probes that had an event that day, so a probe connected all day is unseen:
 * the populations here are those of probes with at least one event, which overstates the share of
 * a unit that flaps. Disco read the probe archive for the real populations; we do not have it.
 */
import { open, readFile } from 'node:fs/promises';
import { constants, gunzipSync } from 'node:zlib';
import { z } from 'zod';
import type { SignalSeries } from '../signals/types.js';

export const ATLAS_STEP = 300;

const eventSchema = z.object({
  prb_id: z.number().int(),
  timestamp: z.number(),
  event: z.enum(['connect', 'disconnect']),
  asn: z.union([z.number(), z.string(), z.null()]).optional(),
  prefix: z.string().nullable().optional(),
});

export interface ConnectionEvent {
  probe: number;
  time: number;
  event: 'connect' | 'disconnect';
  asn: number | null;
  /** The network the probe connected from (a routed prefix, never an address). */
  prefix: string | null;
}

/** Reads a connection log: a JSON array (optionally gzipped) or JSON lines (as ke.dat). */
export async function readConnectionLog(file: string): Promise<ConnectionEvent[]> {
  let buffer = await readFile(file);
  if (buffer[0] === 0x1f && buffer[1] === 0x8b) buffer = gunzipSync(buffer);
  const text = buffer.toString('utf8').trim();
  let records: unknown[];
  if (text.startsWith('[')) {
    try {
      records = JSON.parse(text) as unknown[];
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
  } else {
    records = text.split('\n').map((line, i) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`${file}:${i + 1}: not a JSON line`);
      }
    });
  }
  return records.map((r, i) => {
    const parsed = eventSchema.safeParse(r);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${file}: record ${i + 1}: ${issue?.path.join('.') || 'record'}: ${issue?.message}`);
    }
    const asn = Number(parsed.data.asn);
    return {
      probe: parsed.data.prb_id,
      time: parsed.data.timestamp,
      event: parsed.data.event,
      asn: Number.isInteger(asn) && asn > 0 ? asn : null,
      prefix: parsed.data.prefix ?? null,
    };
  });
}

/** Whether a file is an Atlas connection log: its first records carry `prb_id` (read, not named). */
export async function isConnectionLog(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let text: string;
    if (head[0] === 0x1f && head[1] === 0x8b) {
      // A gzip stream cut short still inflates its beginning.
      text = gunzipHead(head.subarray(0, bytesRead));
    } else text = head.subarray(0, bytesRead).toString('utf8');
    return /"prb_id"\s*:/.test(text);
  } finally {
    await handle.close();
  }
}

function gunzipHead(bytes: Buffer): string {
  try {
    return gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
  } catch {
    return '';
  }
}

export interface ProbeInfo {
  asn: number | null;
  country: string | null;
}

/** Where each probe is: its ASN and country (from the prefix it connected from). */
export type CountryOfPrefix = (prefix: string) => string | null;

export function probeInfo(events: ConnectionEvent[], countryOf: CountryOfPrefix): Map<number, ProbeInfo> {
  const info = new Map<number, ProbeInfo>();
  for (const e of events) {
    if (info.has(e.probe)) continue;
    info.set(e.probe, { asn: e.asn, country: e.prefix ? countryOf(e.prefix) : null });
  }
  return info;
}

/**
 * Per-probe "heard" steps over [from, until): connected at any moment of the step. A probe whose
 * first event is a disconnect was connected since before the log began.
 */
function heardSteps(events: ConnectionEvent[], from: number, steps: number, step: number): Uint8Array {
  const heard = new Uint8Array(steps);
  const mark = (a: number, b: number) => {
    // [a, b) connected: every step it touches was heard.
    const first = Math.max(0, Math.floor((a - from) / step));
    const last = Math.min(steps - 1, Math.floor((Math.max(a, b - 1e-6) - from) / step));
    for (let i = first; i <= last; i++) heard[i] = 1;
  };
  let since: number | null = events[0]?.event === 'disconnect' ? from : null;
  for (const e of events) {
    if (e.event === 'connect') since ??= e.time;
    else if (since !== null) {
      mark(since, e.time);
      since = null;
    }
  }
  if (since !== null) mark(since, from + steps * step);
  return heard;
}

/**
 * `beacon.active` and `beacon.disconnected` series per ASN (`asn:N`) and per country
 * (`country:CC`) from one connection log.
 */
export function connectionLogToSeries(
  events: ConnectionEvent[],
  countryOf: CountryOfPrefix,
  step = ATLAS_STEP,
): SignalSeries[] {
  if (events.length === 0) return [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    min = Math.min(min, e.time);
    max = Math.max(max, e.time);
  }
  const from = Math.floor(min / step) * step;
  // The last step is cut short by the end of the log: it would look emptier than it was.
  const steps = Math.floor(max / step) - from / step;
  const byProbe = new Map<number, ConnectionEvent[]>();
  for (const e of events) {
    const list = byProbe.get(e.probe);
    if (list) list.push(e);
    else byProbe.set(e.probe, [e]);
  }
  const info = probeInfo(events, countryOf);
  const groups = new Map<string, Uint8Array[]>();
  for (const [probe, list] of byProbe) {
    list.sort((a, b) => a.time - b.time || (a.event === 'disconnect' ? -1 : 1));
    const heard = heardSteps(list, from, steps, step);
    const where = info.get(probe);
    const entities: string[] = [];
    if (where?.asn) entities.push(`asn:${where.asn}`);
    if (where?.country) entities.push(`country:${where.country}`);
    for (const entity of entities) {
      const group = groups.get(entity);
      if (group) group.push(heard);
      else groups.set(entity, [heard]);
    }
  }
  const out: SignalSeries[] = [];
  for (const [entity, probes] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const active: number[] = new Array(steps).fill(0);
    const lost: Array<number | null> = new Array(steps).fill(0);
    const lostCounts: number[] = new Array(steps).fill(0);
    for (const heard of probes) {
      for (let i = 0; i < steps; i++) {
        if (heard[i]) active[i] = (active[i] as number) + 1;
        if (i > 0 && heard[i - 1] && !heard[i]) (lost[i] as number)++;
      }
    }
    // Nothing was heard before the first step, so nobody can have fallen silent in it.
    lost[0] = null;
    for (let i = 1; i < steps; i++) lostCounts[i] = active[i - 1] as number;
    out.push({ entity, signal: 'beacon.active', step, from, values: active, counts: [...active] });
    out.push({ entity, signal: 'beacon.disconnected', step, from, values: lost, counts: lostCounts });
  }
  return out;
}

/** The first address of a prefix (`80.252.112.0/20` → `80.252.112.0`), for a country lookup. */
export function prefixAddress(prefix: string): string {
  return prefix.split('/')[0] ?? prefix;
}

/**
 * Detector settings for RIPE Atlas-sized units, used for the published Atlas scores
 * (docs/benchmarks.md): Disco's floor of 8 probes per unit, and no moving median on
 * `beacon.active`, whose population here is only the probes that had an event that day (a
 * flapping minority) and whose history is a single day.
 */
export const ATLAS_EVAL_CONFIG = {
  signals: {
    'beacon.active': { median: false as const },
    'beacon.disconnected': { burst: { minProbes: 8, minActive: 8 } },
  },
};
