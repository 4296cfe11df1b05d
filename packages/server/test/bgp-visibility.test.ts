import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedData } from '../../../test-support/shared-data.js';
import { main } from '../src/cli/main.js';
import { loadIPDatasets, type RangeLocator } from '../src/collector/geo.js';
import {
  computeVisibility,
  originOf,
  type VisibilityBin,
  VisibilityError,
} from '../src/signals/bgp/visibility.js';
import { SignalsDatabase } from '../src/signals/database.js';
import { bgpdumpLines, readMrtFile } from '../src/signals/mrt/index.js';
import { SignalStore } from '../src/signals/store.js';
import { recordingIO } from './cli-io-fixture.js';

// --- hand-made MRT (RFC 6396) -------------------------------------------------------------------

const u16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const ip4 = (a: string) => a.split('.').map(Number);
const mrt = (ts: number, type: number, subtype: number, body: number[]) => [
  ...u32(ts),
  ...u16(type),
  ...u16(subtype),
  ...u32(body.length),
  ...body,
];
/** AS_PATH (4-byte ASNs) as one AS_SEQUENCE, then optionally an AS_SET. */
function asPath(seq: number[], set: number[] = []): number[] {
  const segs = [2, seq.length, ...seq.flatMap(u32)];
  if (set.length > 0) segs.push(1, set.length, ...set.flatMap(u32));
  return [0x40, 1, 1, 0, 0x40, 2, segs.length, ...segs];
}
function prefix4(text: string): number[] {
  const [addr, len] = text.split('/') as [string, string];
  const bytes = ip4(addr).slice(0, Math.ceil(Number(len) / 8));
  return [Number(len), ...bytes];
}
const PEERS = [
  { address: '192.0.2.1', asn: 65001 },
  { address: '192.0.2.2', asn: 65002 },
  { address: '192.0.2.3', asn: 65003 },
];
function peerIndexTable(ts: number): number[] {
  const body = [...ip4('192.0.2.254'), ...u16(0), ...u16(PEERS.length)];
  for (const p of PEERS) body.push(2, ...ip4(p.address), ...ip4(p.address), ...u32(p.asn));
  return mrt(ts, 13, 1, body);
}
/** RIB_IPV4_UNICAST: one prefix, an entry per peer index with its path. */
function rib4(
  ts: number,
  seq: number,
  prefix: string,
  entries: Array<[peer: number, path: number[]]>,
): number[] {
  const body = [...u32(seq), ...prefix4(prefix), ...u16(entries.length)];
  for (const [peer, attrs] of entries) body.push(...u16(peer), ...u32(ts), ...u16(attrs.length), ...attrs);
  return mrt(ts, 13, 2, body);
}
function update(ts: number, peer: number, withdrawn: string[], attrs: number[], nlri: string[]): number[] {
  const w = withdrawn.flatMap(prefix4);
  const n = nlri.flatMap(prefix4);
  const bgp = [...u16(w.length), ...w, ...u16(attrs.length), ...attrs, ...n];
  const message = [...new Array(16).fill(0xff), ...u16(19 + bgp.length), 2, ...bgp];
  const p = PEERS[peer] as (typeof PEERS)[number];
  return mrt(ts, 16, 4, [
    ...u32(p.asn),
    ...u32(64999),
    0,
    0,
    0,
    1,
    ...ip4(p.address),
    ...ip4('192.0.2.254'),
    ...message,
  ]);
}
function stateChange(ts: number, peer: number, from: number, to: number): number[] {
  const p = PEERS[peer] as (typeof PEERS)[number];
  return mrt(ts, 16, 5, [
    ...u32(p.asn),
    ...u32(64999),
    0,
    0,
    0,
    1,
    ...ip4(p.address),
    ...ip4('192.0.2.254'),
    ...u16(from),
    ...u16(to),
  ]);
}

/** entity signal → value, per bin time. */
function byBin(bins: VisibilityBin[]): Map<number, Record<string, number>> {
  const out = new Map<number, Record<string, number>>();
  for (const b of bins) {
    const row: Record<string, number> = {};
    for (const p of b.points) row[`${p.entity} ${p.signal.replace('bgp.visible_', '')}`] = p.value;
    out.set(b.time, row);
  }
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-bgp-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T = 1_700_000_100; // a multiple of 300

describe('visibility on hand-made RIB and updates', () => {
  async function files() {
    const rib = path.join(dir, 'rib.mrt');
    const all: Array<[number, number[]]> = [
      [0, asPath([65001, 65010])],
      [1, asPath([65002, 65010])],
      [2, asPath([65003, 65010])],
    ];
    await writeFile(
      rib,
      Buffer.from([
        ...peerIndexTable(T),
        // Three peers carry 10.0.0.0/16 and a /24 inside it, all from AS65010.
        ...rib4(T, 0, '10.0.0.0/16', all),
        ...rib4(T, 1, '10.0.5.0/24', all),
        // Only one peer carries 10.1.0.0/24: one of three ASNs is not more than half.
        ...rib4(T, 2, '10.1.0.0/24', [[0, asPath([65001, 65020])]]),
        // Two of three carry 10.2.0.0/23 from AS65020.
        ...rib4(T, 3, '10.2.0.0/23', [
          [0, asPath([65001, 65020])],
          [1, asPath([65002, 65020])],
        ]),
        // An origin AS_SET: visible, but no origin ASN to count it for.
        ...rib4(T, 4, '10.3.0.0/24', [
          [0, asPath([65001], [65030, 65031])],
          [1, asPath([65002], [65030, 65031])],
        ]),
      ]),
    );
    const updates = path.join(dir, 'updates.mrt');
    await writeFile(
      updates,
      Buffer.from([
        // Second bin (T+300…): two peers withdraw the /16; only the /24 stays visible.
        ...update(T + 310, 0, ['10.0.0.0/16'], [], []),
        ...update(T + 320, 1, ['10.0.0.0/16'], [], []),
        // Third bin: a second peer announces 10.1.0.0/24, which becomes visible.
        ...update(T + 650, 2, [], asPath([65003, 65020]), ['10.1.0.0/24']),
        // Fourth bin: peer 2's session drops, taking its routes with it.
        ...stateChange(T + 905, 2, 6, 1),
      ]),
    );
    return { rib, updates };
  }

  it('counts /24 equivalents without double-counting covered space, per bin, after withdrawals', async () => {
    const { rib, updates } = await files();
    // Files in any order: the RIB dump goes first by its time.
    const { bins, stats } = await computeVisibility([updates, rib], { fullFeedMinV4: 1 });
    expect(stats.fullFeed).toEqual({ v4Peers: 2, v4Asns: 2, v6Peers: 0, v6Asns: 0 });
    const rows = byBin(bins);
    expect([...rows.keys()]).toEqual([T, T + 300, T + 600, T + 900]);
    expect(rows.get(T)).toEqual({
      'asn:65010 prefixes': 2,
      'asn:65010 slash24': 256, // the /16 and a /24 inside it
      'asn:65020 prefixes': 1,
      'asn:65020 slash24': 2,
    });
    expect(rows.get(T + 300)).toEqual({
      'asn:65010 prefixes': 1,
      'asn:65010 slash24': 1,
      'asn:65020 prefixes': 1,
      'asn:65020 slash24': 2,
    });
    expect(rows.get(T + 600)).toEqual({
      'asn:65010 prefixes': 1,
      'asn:65010 slash24': 1,
      'asn:65020 prefixes': 2,
      'asn:65020 slash24': 3,
    });
    // Peer 2 down: it is no longer full-feed; of peers 0 and 1, both carry the /23, and only
    // one carries 10.0.5.0/24 (peer 0 and 1 still do) and 10.1.0.0/24 (peer 0).
    expect(rows.get(T + 900)).toEqual({
      'asn:65010 prefixes': 1,
      'asn:65010 slash24': 1,
      'asn:65020 prefixes': 1,
      'asn:65020 slash24': 2,
    });
    expect(stats.routesWithoutOrigin).toBe(2);
    expect(bins[0]?.points.find((p) => p.signal === 'bgp.visible_slash24')?.count).toBe(3);
  });

  it('puts prefixes in countries /24 by /24 with the given locator', async () => {
    const { rib } = await files();
    const locator = {
      // 10.0.0.0/16: its first half in AZ, the rest in GE; 10.2.0.0/23 in AZ.
      lookup: (ip: string) => {
        const [, b, c] = ip.split('.').map(Number) as [number, number, number];
        if (b === 0) return { cc: c < 128 ? 'AZ' : 'GE', asn: null };
        if (b === 2) return { cc: 'AZ', asn: null };
        return { cc: null, asn: null };
      },
    };
    const { bins } = await computeVisibility([rib], { fullFeedMinV4: 1, locator });
    const row = byBin(bins).get(T) ?? {};
    expect(row['country:AZ prefixes']).toBe(3); // the /16 (part of it), the /24 inside, the /23
    expect(row['country:AZ slash24']).toBe(128 + 2);
    expect(row['country:GE prefixes']).toBe(1);
    expect(row['country:GE slash24']).toBe(128);
  });

  it('says which peer came closest when none is full-feed', async () => {
    const { rib } = await files();
    const err = await computeVisibility([rib]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VisibilityError);
    expect((err as Error).message).toMatch(
      /no peer qualifies as full-feed: .*more than 400000 IPv4 .* the largest peers held 5 IPv4 prefixes \(peer 192\.0\.2\.1 AS65001\) and no IPv6 prefixes; .*--full-feed-min N/,
    );
  });

  it('pharos import mrt: a file cut short stops the run with exit 1, keeping the bins before it', async () => {
    const { rib } = await files();
    const cut = path.join(dir, 'cut.mrt');
    const later = update(T + 700, 0, ['10.2.0.0/23'], [], []);
    await writeFile(
      cut,
      Buffer.from([...update(T + 310, 0, ['10.0.0.0/16'], [], []), ...later, ...later.slice(0, 20)]),
    );
    const data = path.join(dir, 'cut-data');
    const out = recordingIO(dir);
    expect(
      await main(['import', 'mrt', rib, cut, '--data', data, '--full-feed-min', '1', '--no-geo'], out.io),
    ).toBe(1);
    expect(out.stderr()).toMatch(
      /note: the 8 points of the bins before the error were written \(8 new or changed\)\npharos import: .*cut\.mrt: MRT record #2 at byte offset \d+: truncated body: 8 of \d+ bytes before end of input; the file is damaged or cut short/,
    );
    const db = await SignalsDatabase.open(data);
    try {
      const points = await (await SignalStore.open(db)).points({
        from: 0,
        until: 2 ** 32,
        signal: 'bgp.visible_slash24',
      });
      expect(points.map((p) => [p.entity, p.time - T, p.value])).toEqual([
        ['asn:65010', 0, 256],
        ['asn:65010', 300, 256], // one of three peers withdrew the /16: still two of three
        ['asn:65020', 0, 2],
        ['asn:65020', 300, 2],
        // The bin of the cut record (T+600) is not complete, so it is not written.
      ]);
    } finally {
      await db.close();
    }
  });

  it('takes the origin from the last AS_SEQUENCE only', () => {
    expect(originOf([{ type: 'sequence', asns: [1, 2, 3] }])).toBe(3);
    expect(
      originOf([
        { type: 'sequence', asns: [1] },
        { type: 'set', asns: [2, 3] },
      ]),
    ).toBeNull();
    expect(originOf([])).toBeNull();
    expect(originOf(undefined)).toBeNull();
  });
});

// --- real files, checked against an independent count from bgpdump -m lines ----------------------

interface Line {
  ts: number;
  kind: string;
  peer: string;
  peerAs: number;
  prefix: string;
  pathId?: number;
  origin: number | null;
}

async function dumpLines(file: string): Promise<Line[]> {
  const out: Line[] = [];
  for await (const r of readMrtFile(file)) {
    for (const text of bgpdumpLines(r)) {
      const f = text.split('|');
      const tag = f[0] as string;
      if (tag === 'TABLE_DUMP' || tag === 'TABLE_DUMP2') {
        out.push({
          ts: Number(f[1]),
          kind: 'B',
          peer: f[3]!,
          peerAs: Number(f[4]),
          prefix: f[5]!,
          origin: lastAsn(f[6]!),
        });
      } else if (tag === 'TABLE_DUMP2_AP') {
        // Add-path: the path id comes after the prefix.
        out.push({
          ts: Number(f[1]),
          kind: 'B',
          peer: f[3]!,
          peerAs: Number(f[4]),
          prefix: f[5]!,
          pathId: Number(f[6]),
          origin: lastAsn(f[7]!),
        });
      } else if (f[2] === 'A' || f[2] === 'W') {
        out.push({
          ts: Number(f[1]),
          kind: f[2],
          peer: f[3]!,
          peerAs: Number(f[4]),
          prefix: f[5]!,
          origin: f[2] === 'A' ? lastAsn(f[6]!) : null,
        });
      } else if (f[2] === 'STATE') {
        out.push({
          ts: Number(f[1]),
          kind: `STATE ${f[5]} ${f[6]}`,
          peer: f[3]!,
          peerAs: Number(f[4]),
          prefix: '',
          origin: null,
        });
      }
    }
  }
  return out;
}

/** The last token of bgpdump's AS path column, when it is a plain ASN (not {set}, (confed)). */
function lastAsn(path: string): number | null {
  const last = path.trim().split(' ').pop() ?? '';
  return /^\d+$/.test(last) ? Number(last) : null;
}

function v4Slash24s(prefix: string): number[] {
  const [addr, len] = prefix.split('/') as [string, string];
  const n = addr.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const first = Math.floor(n / 256);
  const count = Number(len) >= 24 ? 1 : 2 ** (24 - Number(len));
  return Array.from({ length: count }, (_, i) => first + i);
}

/**
 * The same rule written plainly: routes as a Map of "peer|prefix" → origin, full-feed peers by
 * counting, visibility per origin by counting distinct peer ASNs, /24s as a Set.
 */
function independentCounts(
  routes: Map<string, { peer: string; peerAs: number; prefix: string; origin: number | null }>,
  minV4: number,
  minV6: number,
  fraction = 0.5,
) {
  const perPeer = new Map<string, { v4: number; v6: number; asn: number }>();
  const counted = new Set<string>(); // add-path: a peer's prefix counts once however many paths
  for (const r of routes.values()) {
    const p = perPeer.get(r.peer) ?? { v4: 0, v6: 0, asn: r.peerAs };
    perPeer.set(r.peer, p);
    if (counted.has(`${r.peer}|${r.prefix}`)) continue;
    counted.add(`${r.peer}|${r.prefix}`);
    if (r.prefix.includes(':')) p.v6++;
    else p.v4++;
  }
  const ff4 = new Set([...perPeer].filter(([, p]) => p.v4 > minV4).map(([k]) => k));
  const ff6 = new Set([...perPeer].filter(([, p]) => p.v6 > minV6).map(([k]) => k));
  const asns = (peers: Set<string>) => new Set([...peers].map((k) => perPeer.get(k)?.asn)).size;
  const need4 = asns(ff4) * fraction;
  const need6 = asns(ff6) * fraction;
  const seen = new Map<string, Set<number>>(); // "prefix origin" → peer ASNs
  for (const r of routes.values()) {
    const v6 = r.prefix.includes(':');
    if (!(v6 ? ff6 : ff4).has(r.peer) || r.origin === null) continue;
    const key = `${r.prefix} ${r.origin}`;
    const s = seen.get(key) ?? new Set();
    s.add(r.peerAs);
    seen.set(key, s);
  }
  const counts: Record<string, number> = {};
  const slash24 = new Map<number, Set<number>>();
  for (const [key, s] of seen) {
    const [prefix, origin] = key.split(' ') as [string, string];
    const v6 = prefix.includes(':');
    if (!(s.size > (v6 ? need6 : need4))) continue;
    counts[`asn:${origin} prefixes`] = (counts[`asn:${origin} prefixes`] ?? 0) + 1;
    if (!v6) {
      const set = slash24.get(Number(origin)) ?? new Set();
      for (const n of v4Slash24s(prefix)) set.add(n);
      slash24.set(Number(origin), set);
    }
  }
  for (const [origin, set] of slash24) counts[`asn:${origin} slash24`] = set.size;
  return counts;
}

function asnRows(bins: VisibilityBin[]): Map<number, Record<string, number>> {
  const rows = byBin(bins);
  for (const row of rows.values()) {
    for (const key of Object.keys(row)) {
      // Entities visible once keep reporting zero afterwards; the plain count lists only non-zero.
      if (!key.startsWith('asn:') || row[key] === 0) delete row[key];
    }
  }
  return rows;
}

/** Replays bgpdump lines in order, counting at the end of each 5-minute bin. */
function replay(lines: Line[], times: number[], minV4: number, minV6: number) {
  const routes = new Map<string, Line>();
  const want = new Map<number, Record<string, number>>();
  let i = 0;
  for (const time of times) {
    for (; i < lines.length && (lines[i] as Line).ts < time + 300; i++) {
      const l = lines[i] as Line;
      const len = Number(l.prefix.split('/')[1]);
      if (l.kind === 'A' && len >= (l.prefix.includes(':') ? 16 : 8)) routes.set(`${l.peer}|${l.prefix}`, l);
      if (l.kind === 'W') routes.delete(`${l.peer}|${l.prefix}`);
      if (l.kind.startsWith('STATE 6 ') && l.kind !== 'STATE 6 6') {
        for (const key of routes.keys()) if (key.startsWith(`${l.peer}|`)) routes.delete(key);
      }
    }
    want.set(time, independentCounts(routes, minV4, minV6));
  }
  return want;
}

const BVIEW = sharedData('mrt/ripe-ncc-bgpdump/bview.20020722.2337.gz');
const UPDATES = sharedData('mrt/ripe-ncc-bgpdump/updates.20070211.0141.gz');

describe('visibility from real RIPE RIS files', () => {
  it.skipIf(BVIEW === null)(
    'bview.20020722.2337 (TABLE_DUMP): per-origin counts match an independent count from bgpdump lines',
    { timeout: 120_000 },
    async () => {
      const lines = await dumpLines(BVIEW as string);
      const routes = new Map<string, Line>();
      for (const l of lines) {
        const len = Number(l.prefix.split('/')[1]);
        if (len >= 8) routes.set(`${l.peer}|${l.prefix}`, l);
      }
      for (const minV4 of [1000, 100_000]) {
        const { bins, stats } = await computeVisibility([BVIEW as string], { fullFeedMinV4: minV4 });
        expect(bins).toHaveLength(1);
        expect(bins[0]?.time).toBe(1027380900); // 23:35, the bin of the dump's 23:37:35
        const want = independentCounts(routes, minV4, 10_000);
        expect(Object.keys(want).length).toBeGreaterThan(minV4 === 1000 ? 500 : 10_000);
        expect(asnRows(bins).get(1027380900)).toEqual(want);
        // 1000: AS1853 and AS1273 carry more; 100,000: AS1853 alone.
        expect(stats.fullFeed.v4Asns).toBe(minV4 === 1000 ? 2 : 1);
      }
    },
  );

  it.skipIf(BVIEW === null)(
    'bview.20020722.2337: per-country counts with the collector datasets',
    { timeout: 120_000 },
    async () => {
      const locator: RangeLocator = await loadIPDatasets();
      const { bins } = await computeVisibility([BVIEW as string], { fullFeedMinV4: 1000, locator });
      const row = byBin(bins).get(1027380900) ?? {};
      // Independently: every visible prefix (carried by both full-feed ASNs), /24 by /24.
      const byPeer = new Map<string, Set<string>>();
      for (const l of await dumpLines(BVIEW as string)) {
        if (Number(l.prefix.split('/')[1]) < 8) continue;
        const s = byPeer.get(l.prefix) ?? new Set();
        s.add(String(l.peerAs));
        byPeer.set(l.prefix, s);
      }
      const perCountry = new Map<string, Set<number>>();
      const prefixes = new Map<string, number>();
      for (const [prefix, peers] of byPeer) {
        if (!(peers.has('1853') && peers.has('1273'))) continue;
        const seen = new Set<string>();
        for (const n of v4Slash24s(prefix)) {
          const cc = locator.lookup(`${n >>> 16}.${(n >>> 8) & 255}.${n & 255}.0`).cc;
          if (!cc) continue;
          const set = perCountry.get(cc) ?? new Set();
          set.add(n);
          perCountry.set(cc, set);
          seen.add(cc);
        }
        for (const cc of seen) prefixes.set(cc, (prefixes.get(cc) ?? 0) + 1);
      }
      const want: Record<string, number> = {};
      for (const [cc, set] of perCountry) want[`country:${cc} slash24`] = set.size;
      for (const [cc, n] of prefixes) want[`country:${cc} prefixes`] = n;
      const got = Object.fromEntries(Object.entries(row).filter(([k]) => k.startsWith('country:')));
      expect(got).toEqual(want);
      expect(got['country:DE slash24']).toBeGreaterThan(1000);
    },
  );

  it.skipIf(UPDATES === null)(
    'updates.20070211.0141: each 5-minute bin matches a replay of the announcements and withdrawals',
    { timeout: 120_000 },
    async () => {
      const minV4 = 300;
      const minV6 = 200;
      const { bins, stats } = await computeVisibility([UPDATES as string], {
        fullFeedMinV4: minV4,
        fullFeedMinV6: minV6,
      });
      expect(stats.errorRecords).toBe(0);
      const got = asnRows(bins);
      const want = replay(await dumpLines(UPDATES as string), [...got.keys()], minV4, minV6);
      expect([...got.keys()]).toEqual([1171158000, 1171158300, 1171158600, 1171158900]);
      for (const [time, row] of got) expect(row, `bin ${time}`).toEqual(want.get(time));
      // Withdrawals lowered some origin's count from one bin to the next.
      const times = [...got.keys()];
      const drops = times.slice(1).flatMap((t, k) => {
        const before = got.get(times[k] as number) ?? {};
        const after = got.get(t) ?? {};
        return Object.keys(before).filter((key) => (after[key] ?? 0) < (before[key] as number));
      });
      expect(drops.length).toBeGreaterThan(0);
    },
  );
});

describe('visibility from two collectors at once', () => {
  const dir = 'mrt/caida-libbgpstream-test';
  const jinx = sharedData(`${dir}/routeviews.route-views.jinx.updates.1427846400.bz2`);
  const rrc06 = sharedData(`${dir}/ris.rrc06.updates.1427846400.gz`);
  it.skipIf(jinx === null || rrc06 === null)(
    'RouteViews (.bz2) and RIS (.gz) updates of the same minutes merge record by record',
    async () => {
      const { bins, stats } = await computeVisibility([jinx as string, rrc06 as string], {
        fullFeedMinV4: 100,
        fullFeedMinV6: 50,
      });
      expect(stats.fullFeed).toEqual({ v4Peers: 2, v4Asns: 2, v6Peers: 0, v6Asns: 0 });
      const got = asnRows(bins);
      expect([...got.keys()]).toEqual([1427846400, 1427846700, 1427847000]);
      const lines = [...(await dumpLines(jinx as string)), ...(await dumpLines(rrc06 as string))];
      lines.sort((a, b) => a.ts - b.ts);
      const want = replay(lines, [...got.keys()], 100, 50);
      for (const [time, row] of got) expect(row, `bin ${time}`).toEqual(want.get(time));
      expect(Object.keys(got.get(1427847000) ?? {}).length).toBeGreaterThan(20);
    },
  );
});

describe('visibility from add-path RIB dumps (RFC 8050)', () => {
  for (const name of ['bview.ipv4_unicast_add_path.gz', 'bview.ipv6_unicast_add_path.gz']) {
    const input = sharedData(`mrt/ripe-ncc-bgpdump/${name}`);
    it.skipIf(input === null)(`${name}: every path counts, each peer's prefix once`, async () => {
      const routes = new Map<string, Line>();
      for (const l of await dumpLines(input as string)) routes.set(`${l.peer}|${l.prefix}|${l.pathId}`, l);
      const { bins, stats } = await computeVisibility([input as string], {
        fullFeedMinV4: 10,
        fullFeedMinV6: 10,
        visibleFraction: 0,
      });
      // The two peers see most prefixes with different origins (a chain of ASes), so "more than
      // none" of the full-feed ASNs is the rule that makes every path count here.
      const want = independentCounts(routes, 10, 10, 0);
      expect(Object.keys(want).length).toBeGreaterThan(2);
      expect([...asnRows(bins).values()]).toEqual([want]);
      expect(stats.fullFeed.v4Asns + stats.fullFeed.v6Asns).toBe(2);
      // 31 paths, 16 prefixes: a peer's size is its prefixes, not its paths.
      await expect(
        computeVisibility([input as string], { fullFeedMinV4: 16, fullFeedMinV6: 16 }),
      ).rejects.toThrow(/the largest peers held .*\b16 IPv[46] prefixes \(peer [^)]* AS65017\)/);
    });
  }
});

describe('pharos import mrt', () => {
  const damaged: Array<[string, RegExp]> = [
    [
      'mrt/caida-mrt-tools/short-header.mrt',
      /short-header\.mrt: MRT record #0 at byte offset 0: truncated header: 11 of 12 bytes before end of input; the file is damaged or cut short/,
    ],
    [
      'mrt/caida-mrt-tools/short.mrt',
      /short\.mrt: MRT record #0 at byte offset 0: truncated body: 158 of 159 bytes before end of input; the file is damaged/,
    ],
    [
      'mrt/caida-mrt-tools/corrupt-nlri.mrt',
      /corrupt-nlri\.mrt: no record could be decoded \(the first: MRT record #0 \(type 17\/4\) at byte offset 0: NLRI prefix length 113 exceeds 32 bits/,
    ],
  ];
  for (const [rel, message] of damaged) {
    const input = sharedData(rel);
    it.skipIf(input === null)(`${path.basename(rel)}: exits 1 with the reader's error`, async () => {
      const out = recordingIO(dir);
      expect(
        await main(
          ['import', 'mrt', input as string, '--data', path.join(dir, 'damaged'), '--no-geo'],
          out.io,
        ),
      ).toBe(1);
      expect(out.stderr()).toMatch(message);
    });
  }

  const quagga = sharedData('mrt/mrtparse-samples/quagga_rib');
  it.skipIf(quagga === null)(
    'a small RIB: the default threshold is refused with the flag to lower it, then imported',
    async () => {
      const data = path.join(dir, 'quagga');
      const refused = recordingIO(dir);
      expect(await main(['import', 'mrt', quagga as string, '--data', data, '--no-geo'], refused.io)).toBe(1);
      expect(refused.stderr()).toMatch(
        /the largest peers held 3 IPv4 prefixes \(peer 192\.168\.0\.10 AS65000\).*--full-feed-min N/,
      );
      const out = recordingIO(dir);
      const argv = [
        'import',
        'mrt',
        quagga as string,
        '--data',
        data,
        '--no-geo',
        '--full-feed-min',
        '2',
        '--full-feed-min-v6',
        '2',
      ];
      expect(await main(argv, out.io)).toBe(0);
      expect(out.stdout()).toMatch(
        /quagga_rib: 7 MRT records, 1 bins of 300 s; full-feed peers at the end: 1 IPv4 \(1 ASNs\), 2 IPv6 \(1 ASNs\)/,
      );
      expect(out.stdout()).toMatch(
        /asn:64512 bgp.visible_prefixes \(step 300 s\): 1 point, 2017-02-11T08:40:00Z to 2017-02-11T08:45:00Z/,
      );
      const again = recordingIO(dir);
      expect(await main(argv, again.io)).toBe(0);
      expect(again.stdout()).toMatch(/, 0 new or changed/);
      const db = await SignalsDatabase.open(data);
      try {
        const catalog = await (await SignalStore.open(db)).catalog();
        expect(catalog.map((c) => `${c.entity} ${c.signal} ${c.points} ${c.source}`)).toEqual([
          'asn:64512 bgp.visible_prefixes 1 mrt:quagga_rib',
          'asn:64512 bgp.visible_slash24 1 mrt:quagga_rib',
        ]);
        const points = await (await SignalStore.open(db)).points({ from: 0, until: 2 ** 32 });
        // The IPv4 and IPv6 prefixes all originate in AS64512; only IPv4 ones have /24s.
        expect(points.map((p) => [p.signal, p.value])).toEqual([
          ['bgp.visible_prefixes', 6],
          ['bgp.visible_slash24', 3],
        ]);
      } finally {
        await db.close();
      }
    },
  );

  it('refuses bad thresholds as usage errors', async () => {
    for (const extra of [
      ['--visible-fraction', '1'],
      ['--full-feed-min', 'many'],
      ['--format', 'csv'],
    ]) {
      const out = recordingIO(dir);
      expect(
        await main(['import', 'mrt', 'x.mrt', '--data', path.join(dir, 'u'), '--no-geo', ...extra], out.io),
      ).toBe(2);
      expect(out.stderr()).toMatch(/Run "pharos import --help"/);
    }
  });
});
