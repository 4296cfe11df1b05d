/**
 * What the beacon sender keeps on disk (`beacon.json` in the state directory): the next sequence
 * number, and the attempts that reached no collector, to be reported by the next beacon that gets
 * through. Written with the outbox's write-fsync-rename step, so a failed attempt is on disk before
 * the sender moves on, and a kill -9 or a power cut during a shutdown loses none of them.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { MAX_BEACON_MISSED, parseBeaconTime } from '@pharos/core';
import { writeFileDurably } from '../outbox/durable-file.js';

export const BEACON_STATE_FILE = 'beacon.json';

export interface BeaconStateData {
  /** The seq of the next attempt. */
  next_seq: number;
  /** Attempts no collector took, oldest first, ISO 8601 UTC to the second. */
  missed: string[];
}

/**
 * Adds a missed attempt, keeping at most `cap`. Beyond the cap the time whose neighbours are
 * closest together is dropped (never the first or the last), so a long outage keeps its start,
 * its latest attempt and evenly spread ones between: what a timeline needs.
 */
export function addMissed(missed: readonly string[], time: string, cap = MAX_BEACON_MISSED): string[] {
  const ms = parseBeaconTime(time);
  const last = missed.at(-1);
  // Two attempts within one second are one point on any timeline.
  if (last !== undefined && parseBeaconTime(last) >= ms) return [...missed];
  const out = [...missed, time];
  while (out.length > Math.max(cap, 2)) {
    let drop = 1;
    let narrowest = Number.POSITIVE_INFINITY;
    for (let i = 1; i < out.length - 1; i++) {
      const gap = parseBeaconTime(out[i + 1]!) - parseBeaconTime(out[i - 1]!);
      if (gap < narrowest) {
        narrowest = gap;
        drop = i;
      }
    }
    out.splice(drop, 1);
  }
  return out;
}

export class BeaconState {
  private data: BeaconStateData;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    data: BeaconStateData,
  ) {
    this.data = data;
  }

  get file(): string {
    return path.join(this.dir, BEACON_STATE_FILE);
  }

  /** Reads the state of a state directory (creating the directory); a damaged file starts afresh. */
  static async open(dir: string): Promise<{ state: BeaconState; problem: string | null }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, BEACON_STATE_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return { state: new BeaconState(dir, { next_seq: 0, missed: [] }), problem: null };
      throw err;
    }
    const data = checkState(text);
    if (typeof data === 'string') {
      return {
        state: new BeaconState(dir, { next_seq: 0, missed: [] }),
        problem: `${file} is damaged (${data}); starting a new one`,
      };
    }
    return { state: new BeaconState(dir, data), problem: null };
  }

  get missed(): readonly string[] {
    return this.data.missed;
  }

  /**
   * Takes the next sequence number: never below the current Unix time in seconds, so a probe whose
   * beacon.json was lost (or damaged) still sends numbers above those a collector has taken, and
   * its beacons are not dropped as repeats. `saved` resolves once it is durable; a write that
   * fails does not stop the beacon (the number is already taken in memory).
   */
  nextSeq(nowMs: number): { seq: number; saved: Promise<void> } {
    const seq = Math.max(this.data.next_seq, Math.floor(nowMs / 1000));
    this.data = { ...this.data, next_seq: seq + 1 };
    return { seq, saved: this.save() };
  }

  /** Records an attempt that reached no collector; durable when this resolves. */
  async recordMissed(time: string): Promise<void> {
    this.data = { ...this.data, missed: addMissed(this.data.missed, time) };
    await this.save();
  }

  /**
   * Forgets the missed attempts a collector has now been told about, and any in the very second
   * the delivered beacon was sent (`sentAt`): that beacon already says the probe was heard then.
   */
  async delivered(times: readonly string[], sentAt: string): Promise<void> {
    const gone = new Set([...times, sentAt]);
    if (!this.data.missed.some((t) => gone.has(t))) return;
    this.data = { ...this.data, missed: this.data.missed.filter((t) => !gone.has(t)) };
    await this.save();
  }

  /** Writes one at a time, each the latest state: concurrent attempts never interleave bytes. */
  private save(): Promise<void> {
    const next = this.writing.then(() =>
      writeFileDurably(this.dir, BEACON_STATE_FILE, `${JSON.stringify(this.data)}\n`),
    );
    this.writing = next.catch(() => {});
    return next;
  }
}

function checkState(text: string): BeaconStateData | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const v = value as Partial<BeaconStateData> | null;
  if (typeof v?.next_seq !== 'number' || !Number.isSafeInteger(v.next_seq) || v.next_seq < 0)
    return 'no next_seq';
  if (
    !Array.isArray(v.missed) ||
    v.missed.some((t) => typeof t !== 'string' || Number.isNaN(parseBeaconTime(t)))
  )
    return 'missed is not a list of times';
  let missed: string[] = [];
  for (const t of v.missed as string[]) missed = addMissed(missed, t);
  return { next_seq: v.next_seq, missed };
}
