/**
 * BGP visibility from MRT files, IODA's way (research/outage-detection.md §1.1, §4; docs/detection.md,
 * "Signals"): keep every peer's routes (RIB dumps, then BGP4MP updates and withdrawals in time
 * order), call a peer full-feed when it carries more than N IPv4 (or IPv6) prefixes, and at the end
 * of every step call a prefix visible when more than a fraction (half) of the full-feed peer ASNs
 * carry it. Visible prefixes and /24 equivalents are then counted per origin ASN and per country.
 *
 * Choices worth knowing:
 * - the origin is the last ASN of the AS path; a path ending in an AS_SET (or a confederation
 *   segment, or no path at all) has no origin, so its prefix counts for its country but no ASN;
 * - a prefix is visible for an origin ASN when more than the fraction of full-feed peer ASNs carry
 *   it with that origin (a prefix split between two origins can count for neither), and visible
 *   for its countries when more than the fraction carry it with any origin;
 * - /24 equivalents are IPv4 only (IODA's rule) and deduplicate covered space per entity: a /16 and
 *   a /24 inside it count 256; a prefix longer than /24 makes its /24 visible; IPv6 prefixes count
 *   in visible_prefixes only;
 * - a prefix is placed in countries /24 by /24 with the collector's ip-location-db lookup, so a
 *   prefix spanning two countries counts in both, each for its own /24s;
 * - IPv4 prefixes shorter than /8 and IPv6 shorter than /16 (default routes, leaks) are ignored;
 * - a session leaving Established drops that peer's routes; a RIB dump replaces the routes of the
 *   peers it lists.
 * - Peers are identified by (address, AS): the same peer address in two collectors' files is
 *   taken to be the same session.
 */
import type { IPLocator } from '../../collector/geo.js';
import { parseIPv4 } from '../../collector/ip-ranges.js';
import {
  type AsPathSegment,
  MrtFormatError,
  type MrtRecord,
  type Prefix,
  type ReadMrtOptions,
  readMrtFile,
} from '../mrt/index.js';
import { SIGNAL_KINDS, type SignalPoint, stepStart } from '../types.js';

export interface VisibilityOptions {
  /** A peer is IPv4 full-feed with more than this many IPv4 prefixes (IODA: 400,000). */
  fullFeedMinV4?: number;
  /** A peer is IPv6 full-feed with more than this many IPv6 prefixes (IODA: 10,000). */
  fullFeedMinV6?: number;
  /** A prefix is visible when more than this fraction of full-feed peer ASNs carry it (IODA: 0.5). */
  visibleFraction?: number;
  /** Seconds per bin (IODA: 300). */
  step?: number;
  /** Country lookups (the collector's ip-location-db datasets); null: no country series. */
  locator?: IPLocator | null;
}

export const VISIBILITY_DEFAULTS = {
  fullFeedMinV4: 400_000,
  fullFeedMinV6: 10_000,
  visibleFraction: 0.5,
  step: 300,
} as const;

/** No peer ever qualified as full-feed, or the input cannot be read; the message says what to do. */
export class VisibilityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VisibilityError';
  }
}

interface PeerState {
  address: string;
  asn: number;
  v4: number;
  v6: number;
  maxV4: number;
  maxV6: number;
}

interface PrefixState {
  afi: 1 | 2;
  text: string;
  /** IPv4: the /24s [start24, end24) the prefix covers. */
  start24: number;
  end24: number;
  /** Route key (peer × 2^32 + path id) → origin ASN (0: none usable). */
  routes: Map<number, number>;
  /** Add-path only: paths per peer, so a peer's prefix count counts the prefix once. */
  paths?: Map<number, number>;
  visible: boolean;
  origins: number[];
  /** Countries with the flat [start24, end24, …] runs of the prefix in each (IPv6: no runs). */
  geo?: Map<string, number[] | null>;
}

interface EntityState {
  entity: string;
  /** Visible prefixes of the entity → their IPv4 /24 runs (flat pairs), null for IPv6. */
  members: Map<PrefixState, number[] | null>;
  slash24: number;
  dirty: boolean;
  hasV4: boolean;
}

const PATH_ID_SPAN = 2 ** 32;

/** The last ASN of a path whose last segment is an AS_SEQUENCE; null otherwise. */
export function originOf(path: AsPathSegment[] | undefined): number | null {
  const last = path?.[path.length - 1];
  if (last?.type !== 'sequence' || last.asns.length === 0) return null;
  return last.asns[last.asns.length - 1] ?? null;
}

/** The /24 runs covered by the union of flat [start, end, …] runs. */
function unionLength(runs: number[][]): number {
  const pairs: Array<[number, number]> = [];
  for (const r of runs)
    for (let i = 0; i < r.length; i += 2) pairs.push([r[i] as number, r[i + 1] as number]);
  pairs.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = -1;
  let curEnd = -1;
  for (const [s, e] of pairs) {
    if (s > curEnd) {
      total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) curEnd = e;
  }
  return total + (curEnd - curStart);
}

function slash24Address(n: number): string {
  return `${n >>> 16}.${(n >>> 8) & 255}.${n & 255}.0`;
}

/** Counters a run reports. */
export interface VisibilityStats {
  records: number;
  /** Records the reader could not decode (skipped); the first few messages are in errorSamples. */
  errorRecords: number;
  errorSamples: string[];
  /** Routes whose AS path ends in an AS_SET or has no usable origin. */
  routesWithoutOrigin: number;
  /** Records older than the bin already emitted, applied late. */
  lateRecords: number;
  /** Bins with no full-feed peer at all (nothing emitted for them). */
  binsWithoutFullFeed: number;
  bins: number;
  /** Gaps longer than a day between records, not filled with bins. */
  gapsSkipped: number;
  fullFeed: { v4Peers: number; v4Asns: number; v6Peers: number; v6Asns: number };
}

/**
 * Routes of every peer and the visibility derived from them. Feed records with `apply` (RIB
 * records with `applyRib`), then `snapshot(time)` at the end of each bin.
 */
export class VisibilityTracker {
  readonly options: Required<Omit<VisibilityOptions, 'locator'>> & { locator: IPLocator | null };
  private readonly peers: PeerState[] = [];
  private readonly peerIds = new Map<string, number>();
  private readonly prefixes = new Map<string, PrefixState>();
  private readonly entities = new Map<string, EntityState>();
  private dirty = new Set<PrefixState>();
  private fullFeedKey = '';
  private ffV4 = new Set<number>();
  private ffV6 = new Set<number>();
  private ffAsnsV4 = 0;
  private ffAsnsV6 = 0;
  private ffAsnsAll = 0;
  everFullFeed = false;
  routesWithoutOrigin = 0;

  constructor(options: VisibilityOptions = {}) {
    this.options = {
      fullFeedMinV4: options.fullFeedMinV4 ?? VISIBILITY_DEFAULTS.fullFeedMinV4,
      fullFeedMinV6: options.fullFeedMinV6 ?? VISIBILITY_DEFAULTS.fullFeedMinV6,
      visibleFraction: options.visibleFraction ?? VISIBILITY_DEFAULTS.visibleFraction,
      step: options.step ?? VISIBILITY_DEFAULTS.step,
      locator: options.locator ?? null,
    };
    const f = this.options.visibleFraction;
    if (!(f >= 0 && f < 1)) throw new RangeError(`visible fraction ${f} must be at least 0 and below 1`);
  }

  peerId(address: string, asn: number): number {
    const key = `${address}|${asn}`;
    let id = this.peerIds.get(key);
    if (id === undefined) {
      id = this.peers.length;
      this.peers.push({ address, asn, v4: 0, v6: 0, maxV4: 0, maxV6: 0 });
      this.peerIds.set(key, id);
    }
    return id;
  }

  private prefixState(p: Prefix, create: boolean): PrefixState | undefined {
    const text = `${p.address}/${p.length}`;
    let st = this.prefixes.get(text);
    if (st === undefined && create) {
      let start24 = 0;
      let end24 = 0;
      if (p.afi === 1) {
        const n = parseIPv4(p.address) ?? 0;
        start24 = Math.floor(n / 256);
        end24 = p.length >= 24 ? start24 + 1 : start24 + 2 ** (24 - p.length);
      }
      st = { afi: p.afi, text, start24, end24, routes: new Map(), visible: false, origins: [] };
      this.prefixes.set(text, st);
    }
    return st;
  }

  /** Prefixes too short to be a network (default routes, leaks of huge aggregates) are ignored. */
  private counted(p: Prefix): boolean {
    return p.afi === 1 ? p.length >= 8 && p.length <= 32 : p.length >= 16 && p.length <= 128;
  }

  private adjustPeer(peer: number, afi: 1 | 2, delta: number): void {
    const st = this.peers[peer] as PeerState;
    if (afi === 1) {
      st.v4 += delta;
      if (st.v4 > st.maxV4) st.maxV4 = st.v4;
    } else {
      st.v6 += delta;
      if (st.v6 > st.maxV6) st.maxV6 = st.v6;
    }
  }

  announce(peer: number, p: Prefix, path: AsPathSegment[] | undefined): void {
    if (!this.counted(p)) return;
    const origin = originOf(path);
    if (origin === null) this.routesWithoutOrigin++;
    const st = this.prefixState(p, true) as PrefixState;
    const key = peer * PATH_ID_SPAN + (p.pathId ?? 0);
    if (!st.routes.has(key)) {
      if (p.pathId === undefined) this.adjustPeer(peer, p.afi, 1);
      else {
        st.paths ??= new Map();
        const n = st.paths.get(peer) ?? 0;
        if (n === 0) this.adjustPeer(peer, p.afi, 1);
        st.paths.set(peer, n + 1);
      }
    }
    st.routes.set(key, origin ?? 0);
    this.dirty.add(st);
  }

  withdraw(peer: number, p: Prefix): void {
    if (!this.counted(p)) return;
    const st = this.prefixState(p, false);
    if (!st) return;
    if (!st.routes.delete(peer * PATH_ID_SPAN + (p.pathId ?? 0))) return;
    this.dropped(st, peer);
    this.dirty.add(st);
  }

  /** Book-keeping after one route of `peer` left `st`. */
  private dropped(st: PrefixState, peer: number): void {
    if (st.paths?.has(peer)) {
      const n = (st.paths.get(peer) as number) - 1;
      if (n > 0) {
        st.paths.set(peer, n);
        return;
      }
      st.paths.delete(peer);
    }
    this.adjustPeer(peer, st.afi, -1);
  }

  /** Drops every route of a peer: its session went down, or a RIB dump is about to restate it. */
  clearPeer(peer: number): void {
    const st = this.peers[peer] as PeerState;
    if (st.v4 === 0 && st.v6 === 0) return;
    const low = peer * PATH_ID_SPAN;
    const high = low + PATH_ID_SPAN;
    for (const prefix of this.prefixes.values()) {
      let hit = false;
      for (const key of prefix.routes.keys()) {
        if (key >= low && key < high) {
          prefix.routes.delete(key);
          hit = true;
        }
      }
      if (hit) {
        prefix.paths?.delete(peer);
        this.dirty.add(prefix);
      }
    }
    st.v4 = 0;
    st.v6 = 0;
  }

  /** Applies a BGP4MP record (UPDATE or state change); RIB records go through applyRib. */
  apply(r: MrtRecord): void {
    if (r.kind === 'bgp4mp_state') {
      // 6 is Established: leaving it ends the session and with it the peer's routes.
      if (r.oldState === 6 && r.newState !== 6) {
        const id = this.peerIds.get(`${r.peerAddress}|${r.peerAs}`);
        if (id !== undefined) this.clearPeer(id);
      }
      return;
    }
    if (r.kind !== 'bgp4mp_message' || r.message.type !== 'update') return;
    const m = r.message;
    const a = m.attributes;
    const peer = this.peerId(r.peerAddress, r.peerAs);
    for (const p of m.withdrawn) this.withdraw(peer, p);
    if (a.mpUnreach && a.mpUnreach.safi === 1) for (const p of a.mpUnreach.withdrawn) this.withdraw(peer, p);
    for (const p of m.nlri) this.announce(peer, p, a.asPath);
    if (a.mpReach && a.mpReach.safi === 1) for (const p of a.mpReach.nlri) this.announce(peer, p, a.asPath);
  }

  /** Applies a RIB dump record; `restated` holds the peers this dump has already reset. */
  applyRib(r: MrtRecord, restated: Set<number>): void {
    const restate = (peer: number) => {
      if (!restated.has(peer)) {
        restated.add(peer);
        this.clearPeer(peer);
      }
    };
    if (r.kind === 'peer_index_table') {
      for (const p of r.peers) restate(this.peerId(p.address, p.asn));
    } else if (r.kind === 'table_dump') {
      const peer = this.peerId(r.peerAddress, r.peerAs);
      restate(peer);
      this.announce(peer, r.prefix, r.attributes.asPath);
    } else if (r.kind === 'rib') {
      // Multicast RIBs (subtypes 3, 5, 9, 11) are not what the Internet routes on.
      if ([3, 5, 9, 11].includes(r.header.subtype)) return;
      for (const e of r.entries) {
        if (!e.peer) continue;
        const peer = this.peerId(e.peer.address, e.peer.asn);
        restate(peer);
        const p = e.pathId === undefined ? r.prefix : { ...r.prefix, pathId: e.pathId };
        this.announce(peer, p, e.attributes.asPath);
      }
    } else this.apply(r);
  }

  /** Recomputes the full-feed peer sets; true when they changed (every prefix must be re-judged). */
  private updateFullFeed(): boolean {
    const v4 = new Set<number>();
    const v6 = new Set<number>();
    const asns4 = new Set<number>();
    const asns6 = new Set<number>();
    this.peers.forEach((p, i) => {
      if (p.v4 > this.options.fullFeedMinV4) {
        v4.add(i);
        asns4.add(p.asn);
      }
      if (p.v6 > this.options.fullFeedMinV6) {
        v6.add(i);
        asns6.add(p.asn);
      }
    });
    const key = `${[...v4].join(',')}|${[...v6].join(',')}`;
    this.ffV4 = v4;
    this.ffV6 = v6;
    this.ffAsnsV4 = asns4.size;
    this.ffAsnsV6 = asns6.size;
    this.ffAsnsAll = new Set([...asns4, ...asns6]).size;
    if (v4.size + v6.size > 0) this.everFullFeed = true;
    const changed = key !== this.fullFeedKey;
    this.fullFeedKey = key;
    return changed;
  }

  fullFeedCounts(): VisibilityStats['fullFeed'] {
    return { v4Peers: this.ffV4.size, v4Asns: this.ffAsnsV4, v6Peers: this.ffV6.size, v6Asns: this.ffAsnsV6 };
  }

  private judge(st: PrefixState): void {
    const ff = st.afi === 1 ? this.ffV4 : this.ffV6;
    const asnCount = st.afi === 1 ? this.ffAsnsV4 : this.ffAsnsV6;
    const need = this.options.visibleFraction * asnCount;
    let visible = false;
    const origins: number[] = [];
    if (asnCount > 0 && st.routes.size > need) {
      const all = new Set<number>();
      const byOrigin = new Map<number, Set<number>>();
      for (const [key, origin] of st.routes) {
        const peer = Math.floor(key / PATH_ID_SPAN);
        if (!ff.has(peer)) continue;
        const asn = (this.peers[peer] as PeerState).asn;
        all.add(asn);
        if (origin === 0) continue;
        let set = byOrigin.get(origin);
        if (!set) {
          set = new Set();
          byOrigin.set(origin, set);
        }
        set.add(asn);
      }
      visible = all.size > need;
      for (const [origin, set] of byOrigin) if (set.size > need) origins.push(origin);
      origins.sort((a, b) => a - b);
    }
    if (visible !== st.visible) {
      for (const [cc, runs] of this.geoOf(st)) this.member(`country:${cc}`, st, visible ? runs : undefined);
    }
    if (origins.join(',') !== st.origins.join(',')) {
      const runs = st.afi === 1 ? [st.start24, st.end24] : null;
      for (const o of st.origins) if (!origins.includes(o)) this.member(`asn:${o}`, st, undefined);
      for (const o of origins) if (!st.origins.includes(o)) this.member(`asn:${o}`, st, runs);
    }
    st.visible = visible;
    st.origins = origins;
    if (st.routes.size === 0 && !visible) this.prefixes.delete(st.text);
  }

  /** Adds (runs given) or removes (undefined) a prefix from an entity's visible set. */
  private member(entity: string, st: PrefixState, runs: number[] | null | undefined): void {
    let e = this.entities.get(entity);
    if (!e) {
      if (runs === undefined) return;
      e = { entity, members: new Map(), slash24: 0, dirty: true, hasV4: false };
      this.entities.set(entity, e);
    }
    if (runs === undefined) e.members.delete(st);
    else {
      e.members.set(st, runs);
      if (st.afi === 1) e.hasV4 = true;
    }
    e.dirty = true;
  }

  /** The countries of a prefix, /24 by /24 for IPv4 (cached: a prefix's place does not change). */
  private geoOf(st: PrefixState): Map<string, number[] | null> {
    if (st.geo) return st.geo;
    const geo = new Map<string, number[] | null>();
    const locator = this.options.locator;
    if (locator) {
      if (st.afi === 2) {
        const cc = locator.lookup(st.text.slice(0, st.text.indexOf('/'))).cc;
        if (cc) geo.set(cc, null);
      } else {
        let runCc: string | null = null;
        let runStart = st.start24;
        const close = (end: number) => {
          if (runCc === null) return;
          let runs = geo.get(runCc);
          if (!runs) {
            runs = [];
            geo.set(runCc, runs);
          }
          runs.push(runStart, end);
        };
        for (let n = st.start24; n < st.end24; n++) {
          const cc = locator.lookup(slash24Address(n)).cc;
          if (cc !== runCc) {
            close(n);
            runCc = cc;
            runStart = n;
          }
        }
        close(st.end24);
      }
    }
    st.geo = geo;
    return geo;
  }

  /**
   * Judges the prefixes that changed (all of them when the full-feed peers changed) and returns the
   * points of the bin starting at `time`: every entity that has been visible so far, so a drop to
   * zero is a zero, not a gap. Empty when no peer is full-feed.
   */
  snapshot(time: number): SignalPoint[] {
    const judgeAll = this.updateFullFeed();
    if (judgeAll) for (const st of this.prefixes.values()) this.judge(st);
    else for (const st of this.dirty) this.judge(st);
    this.dirty = new Set();
    if (this.ffV4.size + this.ffV6.size === 0) return [];
    const step = this.options.step;
    const out: SignalPoint[] = [];
    for (const e of this.entities.values()) {
      if (e.dirty) {
        const runs: number[][] = [];
        for (const r of e.members.values()) if (r) runs.push(r);
        e.slash24 = unionLength(runs);
        e.dirty = false;
      }
      out.push({
        entity: e.entity,
        signal: SIGNAL_KINDS.bgpPrefixes,
        time,
        step,
        value: e.members.size,
        count: this.ffAsnsAll,
      });
      if (e.hasV4) {
        out.push({
          entity: e.entity,
          signal: SIGNAL_KINDS.bgpSlash24,
          time,
          step,
          value: e.slash24,
          count: this.ffAsnsV4,
        });
      }
    }
    return out;
  }

  /** The peer with the most IPv4 and the most IPv6 prefixes ever held, for the no-full-feed error. */
  largestPeers(): { v4?: PeerState; v6?: PeerState } {
    let v4: PeerState | undefined;
    let v6: PeerState | undefined;
    for (const p of this.peers) {
      if (!v4 || p.maxV4 > v4.maxV4) v4 = p;
      if (!v6 || p.maxV6 > v6.maxV6) v6 = p;
    }
    const out: { v4?: PeerState; v6?: PeerState } = {};
    if (v4) out.v4 = v4;
    if (v6) out.v6 = v6;
    return out;
  }
}

/** One bin's points. */
export interface VisibilityBin {
  time: number;
  points: SignalPoint[];
}

export interface VisibilityRunOptions extends VisibilityOptions {
  /** Reader options (e.g. guessAddPath for BIRD dumps). */
  read?: ReadMrtOptions;
  /** Called every 100,000 records. */
  onProgress?: (p: { file: string; records: number }) => void;
  /** Filled in as the run goes. */
  stats?: VisibilityStats;
}

interface InputFile {
  file: string;
  rib: boolean;
  start: number;
}

const RIB_KINDS = new Set(['peer_index_table', 'rib', 'table_dump']);

/**
 * Reads the first decodable record of a file: is it a RIB dump, and when does it start? A file
 * with no record at all, or none that decodes, is refused here, naming the first problem.
 */
async function classify(file: string, read: ReadMrtOptions): Promise<InputFile> {
  let firstError: string | undefined;
  for await (const r of readMrtFile(file, read)) {
    if (r.kind === 'error') {
      firstError ??= r.error;
      continue;
    }
    return { file, rib: RIB_KINDS.has(r.kind), start: r.header.timestamp };
  }
  if (firstError !== undefined) {
    throw new VisibilityError(
      `${file}: no record could be decoded (the first: ${firstError}); is it damaged?`,
    );
  }
  throw new VisibilityError(`${file}: the file holds no MRT records; is it the right file?`);
}

function withFile(file: string, err: unknown): Error {
  if (err instanceof MrtFormatError) {
    return new VisibilityError(
      `${file}: ${err.message}; the file is damaged or cut short (download it again, or leave it out)`,
    );
  }
  if (err instanceof Error && /decompression failed/.test(err.message)) {
    return new VisibilityError(
      `${file}: ${err.message}; the file is damaged or cut short (download it again, or leave it out)`,
    );
  }
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') {
    return new VisibilityError(`${file}: cannot read it (${err.code})`);
  }
  return err as Error;
}

export function emptyVisibilityStats(): VisibilityStats {
  return {
    records: 0,
    errorRecords: 0,
    errorSamples: [],
    routesWithoutOrigin: 0,
    lateRecords: 0,
    binsWithoutFullFeed: 0,
    bins: 0,
    gapsSkipped: 0,
    fullFeed: { v4Peers: 0, v4Asns: 0, v6Peers: 0, v6Asns: 0 },
  };
}

/**
 * Visibility bins from MRT files in any order: RIB dumps and update files are sorted by their first
 * record's time (a RIB before updates of the same second), update files that overlap in time are
 * merged record by record, and each RIB dump is applied whole at its start time. Throws
 * VisibilityError for a damaged file (naming it, with the reader's offset and record) and when no
 * peer ever qualified as full-feed (naming the largest peer and the option to lower).
 */
export async function* visibilityBins(
  files: string[],
  options: VisibilityRunOptions = {},
): AsyncGenerator<VisibilityBin> {
  const tracker = new VisibilityTracker(options);
  const step = tracker.options.step;
  const read = options.read ?? {};
  const stats = options.stats ?? emptyVisibilityStats();
  const maxGap = 86_400;

  const inputs: InputFile[] = [];
  for (const file of files) {
    try {
      inputs.push(await classify(file, read));
    } catch (err) {
      throw withFile(file, err);
    }
  }
  inputs.sort((a, b) => a.start - b.start || Number(b.rib) - Number(a.rib));

  let bin: number | undefined;
  function* advance(time: number): Generator<VisibilityBin> {
    const target = stepStart(time, step);
    if (bin === undefined) {
      bin = target;
      return;
    }
    if (target < bin) {
      stats.lateRecords++;
      return;
    }
    while (bin < target) {
      const points = tracker.snapshot(bin);
      stats.bins++;
      if (points.length === 0) stats.binsWithoutFullFeed++;
      else yield { time: bin, points };
      // A long silence between files is not a steady state worth a bin every step.
      if (target - bin > maxGap) {
        stats.gapsSkipped++;
        bin = target;
      } else bin += step;
    }
  }

  const note = (r: MrtRecord, file: string) => {
    stats.records++;
    if (r.kind === 'error') {
      stats.errorRecords++;
      if (stats.errorSamples.length < 3) stats.errorSamples.push(`${file}: ${r.error}`);
    }
    if (options.onProgress && stats.records % 100_000 === 0)
      options.onProgress({ file, records: stats.records });
  };

  interface Active {
    file: string;
    it: AsyncGenerator<MrtRecord>;
    head: MrtRecord;
  }
  const active: Active[] = [];
  const next = async (a: { file: string; it: AsyncGenerator<MrtRecord> }): Promise<MrtRecord | null> => {
    try {
      const r = await a.it.next();
      return r.done ? null : r.value;
    } catch (err) {
      throw withFile(a.file, err);
    }
  };
  try {
    let pending = 0;
    for (;;) {
      let first: Active | undefined;
      for (const a of active) if (!first || a.head.header.timestamp < first.head.header.timestamp) first = a;
      const upcoming = inputs[pending];
      if (upcoming && (!first || upcoming.start <= first.head.header.timestamp)) {
        pending++;
        if (upcoming.rib) {
          yield* advance(upcoming.start);
          const restated = new Set<number>();
          const it = { file: upcoming.file, it: readMrtFile(upcoming.file, read) };
          for (let r = await next(it); r !== null; r = await next(it)) {
            note(r, upcoming.file);
            tracker.applyRib(r, restated);
          }
        } else {
          const it = { file: upcoming.file, it: readMrtFile(upcoming.file, read) };
          const head = await next(it);
          if (head) active.push({ ...it, head });
        }
        continue;
      }
      if (!first) break;
      const r = first.head;
      note(r, first.file);
      yield* advance(r.header.timestamp);
      tracker.apply(r);
      const head = await next(first);
      if (head) first.head = head;
      else active.splice(active.indexOf(first), 1);
    }
    if (bin !== undefined) {
      const points = tracker.snapshot(bin);
      stats.bins++;
      if (points.length === 0) stats.binsWithoutFullFeed++;
      else yield { time: bin, points };
    }
  } finally {
    for (const a of active) await a.it.return(undefined);
    stats.routesWithoutOrigin = tracker.routesWithoutOrigin;
    stats.fullFeed = tracker.fullFeedCounts();
  }
  if (!tracker.everFullFeed) {
    const { v4, v6 } = tracker.largestPeers();
    const o = tracker.options;
    const largest = [
      v4 && v4.maxV4 > 0 ? `${v4.maxV4} IPv4 prefixes (peer ${v4.address} AS${v4.asn})` : 'no IPv4 prefixes',
      v6 && v6.maxV6 > 0 ? `${v6.maxV6} IPv6 prefixes (peer ${v6.address} AS${v6.asn})` : 'no IPv6 prefixes',
    ].join(' and ');
    throw new VisibilityError(
      `no peer qualifies as full-feed: a full-feed peer carries more than ${o.fullFeedMinV4} IPv4 or more than ${o.fullFeedMinV6} IPv6 prefixes, and the largest peers held ${largest}; give a RIB dump (bview/rib file) with the updates, or lower the threshold with --full-feed-min N (IPv4) and --full-feed-min-v6 N`,
    );
  }
}

/** All bins of a run in memory (tests, small inputs). */
export async function computeVisibility(
  files: string[],
  options: VisibilityRunOptions = {},
): Promise<{ bins: VisibilityBin[]; stats: VisibilityStats }> {
  const stats = options.stats ?? emptyVisibilityStats();
  const bins: VisibilityBin[] = [];
  for await (const b of visibilityBins(files, { ...options, stats })) bins.push(b);
  return { bins, stats };
}
