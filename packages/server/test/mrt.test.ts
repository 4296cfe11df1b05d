import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../../test-support/shared-data.js';
import {
  bgpdumpLines,
  decodeBgpMessage,
  ipv6ToString,
  MrtFormatError,
  type MrtRecord,
  readMrt,
  readMrtFile,
} from '../src/signals/mrt/index.js';

async function collect(it: AsyncIterable<MrtRecord>): Promise<MrtRecord[]> {
  const out: MrtRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}
function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}
function mrt(ts: number, type: number, subtype: number, body: number[]): number[] {
  return [...u32(ts), ...u16(type), ...u16(subtype), ...u32(body.length), ...body];
}
function attr(flags: number, type: number, data: number[]): number[] {
  return [flags, type, data.length, ...data];
}
function bgpUpdate(withdrawn: number[], attrs: number[], nlri: number[]): number[] {
  const body = [...u16(withdrawn.length), ...withdrawn, ...u16(attrs.length), ...attrs, ...nlri];
  return [...new Array(16).fill(0xff), ...u16(19 + body.length), 2, ...body];
}
/** BGP4MP MESSAGE_AS4 (16/4) from 192.0.2.1 AS65001 to 192.0.2.2 AS65002 over IPv4. */
function message4(ts: number, bgp: number[]): number[] {
  return mrt(ts, 16, 4, [...u32(65001), ...u32(65002), 0, 0, 0, 1, 192, 0, 2, 1, 192, 0, 2, 2, ...bgp]);
}
const bytes = (a: number[]) => Readable.from([Buffer.from(a)]);

describe('MRT decoding on hand-made records', () => {
  it('decodes an AS4 UPDATE with every common attribute and renders it like bgpdump -m', async () => {
    const attrs = [
      ...attr(0x40, 1, [0]),
      ...attr(0x40, 2, [2, 2, ...u32(65001), ...u32(4200000000), 1, 2, ...u32(1), ...u32(2)]),
      ...attr(0x40, 3, [192, 0, 2, 1]),
      ...attr(0x80, 4, u32(7)),
      ...attr(0x40, 5, u32(200)),
      ...attr(0x40, 6, []),
      ...attr(0xc0, 7, [...u32(65003), 10, 0, 0, 1]),
      ...attr(0xc0, 8, [...u32((65001 << 16) | 100), ...u32(0xffffff01)]),
    ];
    const data = message4(1000, bgpUpdate([16, 10, 1], attrs, [24, 198, 51, 100]));
    const [rec] = await collect(readMrt(bytes(data)));
    expect(rec?.kind).toBe('bgp4mp_message');
    expect(bgpdumpLines(rec as MrtRecord)).toEqual([
      'BGP4MP|1000|W|192.0.2.1|65001|10.1.0.0/16',
      'BGP4MP|1000|A|192.0.2.1|65001|198.51.100.0/24|65001 4200000000 {1,2}|IGP|192.0.2.1|200|7|65001:100 no-export|AG|65003 10.0.0.1|',
    ]);
  });

  it('merges AS4_PATH and AS4_AGGREGATOR into a 2-byte session (RFC 6793)', () => {
    const attrs = [
      ...attr(0x40, 1, [2]),
      ...attr(0x40, 2, [2, 3, ...u16(65001), ...u16(23456), ...u16(23456)]),
      ...attr(0x40, 3, [192, 0, 2, 1]),
      ...attr(0xc0, 7, [...u16(23456), 10, 0, 0, 9]),
      ...attr(0xc0, 17, [2, 2, ...u32(4200000001), ...u32(4200000002)]),
      ...attr(0xc0, 18, [...u32(4200000002), 10, 0, 0, 9]),
    ];
    const msg = decodeBgpMessage(Uint8Array.from(bgpUpdate([], attrs, [8, 10])), {
      as4: false,
      addPath: false,
    });
    expect(msg.type).toBe('update');
    if (msg.type !== 'update') return;
    expect(msg.attributes.asPath).toEqual([{ type: 'sequence', asns: [65001, 4200000001, 4200000002] }]);
    expect(msg.attributes.origin).toBe('INCOMPLETE');
    expect(msg.nlri).toEqual([{ afi: 1, address: '10.0.0.0', length: 8 }]);
  });

  it('decodes MP_REACH/MP_UNREACH for IPv6 with add-path identifiers (BGP4MP 16/9)', async () => {
    const nh = [0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1];
    const attrs = [
      ...attr(0x40, 1, [0]),
      ...attr(0x40, 2, [2, 1, ...u32(65001)]),
      ...attr(0x80, 14, [...u16(2), 1, 16, ...nh, 0, ...u32(7), 32, 0x20, 0x01, 0x0d, 0xb8]),
      ...attr(0x80, 15, [...u16(2), 1, ...u32(9), 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]),
    ];
    const bgp = bgpUpdate([], attrs, []);
    const body = [...u32(65001), ...u32(65002), 0, 0, 0, 1, 192, 0, 2, 1, 192, 0, 2, 2, ...bgp];
    const [rec] = await collect(readMrt(bytes(mrt(5, 16, 9, body))));
    expect(bgpdumpLines(rec as MrtRecord)).toEqual([
      'BGP4MP_AP|5|W|192.0.2.1|65001|2001:db8:1::/48|9',
      'BGP4MP_AP|5|A|192.0.2.1|65001|2001:db8::/32|7|65001|IGP|2001:db8::1|0|0||NAG||',
    ]);
  });

  it('prints IPv6 the way bgpdump does', () => {
    const v6 = (s: string) => Uint8Array.from(Buffer.from(s.replace(/ /g, ''), 'hex'));
    expect(ipv6ToString(v6('2001 07f8 0030 0000 0002 0001 0000 8447'))).toBe('2001:7f8:30::2:1:0:8447');
    expect(ipv6ToString(v6('0000 0000 0000 0000 0000 ffff c100 0038'))).toBe('::ffff:193.0.0.56');
    expect(ipv6ToString(v6('0000 0000 0000 0000 0000 0000 0000 0000'))).toBe('::');
    expect(ipv6ToString(v6('fe80 0000 0000 0000 0000 0000 0000 0001'))).toBe('fe80::1');
  });

  it('clears host bits past the prefix length and flags them', () => {
    const msg = decodeBgpMessage(Uint8Array.from(bgpUpdate([], [], [12, 23, 104])), {
      as4: true,
      addPath: false,
    });
    expect(msg.type === 'update' && msg.nlri).toEqual([
      { afi: 1, address: '23.96.0.0', length: 12, trailingBits: true },
    ]);
  });

  it('turns a bad record body into an error record and keeps reading', async () => {
    const bad = message4(1, bgpUpdate([], [], [33, 1, 2, 3, 4, 5]));
    const good = message4(2, bgpUpdate([8, 10], [], []));
    const recs = await collect(readMrt(bytes([...bad, ...good])));
    expect(recs.map((r) => r.kind)).toEqual(['error', 'bgp4mp_message']);
    expect(recs[0]?.kind === 'error' && recs[0].error).toMatch(
      /record #0 \(type 16\/4\) at byte offset 0: .*prefix length 33/,
    );
  });

  it('throws a framing error naming the offset and record for truncated input, also inside gzip', async () => {
    const good = message4(2, bgpUpdate([8, 10], [], []));
    const cut = [...good, ...good.slice(0, good.length - 3)];
    const err = await collect(readMrt(bytes(cut))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MrtFormatError);
    expect((err as MrtFormatError).offset).toBe(good.length);
    expect((err as MrtFormatError).recordIndex).toBe(1);
    expect((err as Error).message).toMatch(/record #1 at byte offset \d+: truncated body/);
    const gz = gzipSync(Buffer.from(cut));
    await expect(collect(readMrt(Readable.from([gz])))).rejects.toThrow(/truncated body/);
    // A gzip stream cut short fails with a decompression error rather than hanging.
    await expect(collect(readMrt(Readable.from([gz.subarray(0, 20)])))).rejects.toThrow();
    // An absurd length is refused instead of buffering gigabytes.
    const huge = [...u32(1), ...u16(16), ...u16(4), ...u32(0xfffffff0)];
    await expect(collect(readMrt(bytes(huge)))).rejects.toThrow(/exceeds the .*limit/);
    expect(await collect(readMrt(bytes([])))).toEqual([]);
  });

  it('releases the input when the caller stops early', async () => {
    const one = message4(2, bgpUpdate([8, 10], [], []));
    const input = Readable.from([Buffer.from([...one, ...one, ...one])]);
    for await (const r of readMrt(input)) {
      expect(r.kind).toBe('bgp4mp_message');
      break;
    }
    expect(input.destroyed).toBe(true);
  });
});

const RIPE = 'mrt/ripe-ncc-bgpdump';

/**
 * Golden comparison with bgpdump -m output (RIPE NCC bgpdump test_expect, HEAD caf2cb0). Every
 * file listed matches line for line: 23 + 62 + 62 + 3,337 + 4,096 + 5,654 + 41,234 = 54,468 lines.
 */
const GOLDEN: [file: string, lines: number][] = [
  ['bview.64k_stream_overflow.gz', 23],
  ['bview.ipv4_unicast_add_path.gz', 62],
  ['bview.ipv6_unicast_add_path.gz', 62],
  ['updates.20020722.2238.gz', 3337],
  ['updates.long_withdrawal.gz', 4096],
  ['updates.20100722.2015.gz', 5654],
  ['updates.20160811.1600.gz', 41234],
];

describe('bgpdump -m golden files (RIPE NCC)', () => {
  for (const [file, lines] of GOLDEN) {
    const input = sharedData(`${RIPE}/${file}`);
    const expected = sharedData(`${RIPE}/test_expect/${file}.bgp.gz`);
    it.skipIf(input === null || expected === null)(`${file}: all ${lines} lines match`, async () => {
      const want = gunzipSync(readFileSync(expected as string))
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      const got: string[] = [];
      let errors = 0;
      for await (const r of readMrtFile(input as string)) {
        if (r.kind === 'error') errors++;
        got.push(...bgpdumpLines(r));
      }
      expect(errors).toBe(0);
      expect(want).toHaveLength(lines);
      let matched = 0;
      const mismatches: string[] = [];
      for (let i = 0; i < Math.max(want.length, got.length); i++) {
        if (want[i] === got[i]) matched++;
        else if (mismatches.length < 3) mismatches.push(`#${i}\n want ${want[i]}\n got  ${got[i]}`);
      }
      expect(mismatches).toEqual([]);
      expect(matched).toBe(lines);
    });
  }
});

/**
 * Record counts by kind (and bgpdump -m line counts) for files without golden text; every record
 * decodes without error. BIRD dumps store add-path NLRI under plain BGP4MP subtypes, so
 * the mrtparse BGP samples are read with `guessAddPath` (GUESSED names how many of their records
 * need it; without it those records are error records). OpenBGPD and Quagga samples carry L3VPN
 * (SAFI 128) MP_REACH, kept as raw NLRI.
 */
const GUESSED: Record<string, number> = {
  'mrt/mrtparse-samples/bird_bgp': 6,
  'mrt/mrtparse-samples/bird6_bgp': 6,
};
const COUNTED: [file: string, kinds: Record<string, number>, lines: number][] = [
  ['mrt/mrtparse-samples/openbgpd_rib_table-v2', { peer_index_table: 1, rib: 21, raw: 2 }, 31],
  ['mrt/mrtparse-samples/openbgpd_rib_table', { table_dump: 31 }, 31],
  ['mrt/mrtparse-samples/openbgpd_rib_table-mp', { raw: 31 }, 0],
  ['mrt/mrtparse-samples/openbgpd_bgp', { bgp4mp_state: 16, bgp4mp_message: 71 }, 109],
  ['mrt/mrtparse-samples/quagga_rib', { peer_index_table: 1, rib: 6 }, 9],
  ['mrt/mrtparse-samples/quagga_bgp', { bgp4mp_state: 20, bgp4mp_message: 47 }, 38],
  ['mrt/mrtparse-samples/bird-mrtdump_rib', { peer_index_table: 2, rib: 12 }, 18],
  ['mrt/mrtparse-samples/bird-mrtdump_bgp', { bgp4mp_state: 12, bgp4mp_message: 15 }, 24],
  ['mrt/mrtparse-samples/bird6-mrtdump_rib', { peer_index_table: 2, rib: 7 }, 10],
  ['mrt/mrtparse-samples/bird_bgp', { bgp4mp_state: 12, bgp4mp_message: 17 }, 26],
  ['mrt/mrtparse-samples/bird6_bgp', { bgp4mp_state: 12, bgp4mp_message: 17 }, 26],
  [
    'mrt/caida-libbgpstream-test/ris.rrc06.updates.1427846400.gz',
    { bgp4mp_message: 791, bgp4mp_state: 4 },
    1561,
  ],
  [
    'mrt/caida-libbgpstream-test/routeviews.route-views.jinx.updates.1427846400.bz2',
    { bgp4mp_message: 1756 },
    8611,
  ],
  ['mrt/bgpkit_examples_local_only_updates.bz2', { bgp4mp_message: 85 }, 268],
  [`${RIPE}/updates.20071015.1505.gz`, { bgp4mp_message: 4297 }, 10496],
  [`${RIPE}/updates.20070211.0141.gz`, { bgp4mp_message: 23394 }, 53657],
  [`${RIPE}/bview.20020722.2337.gz`, { table_dump: 115521 }, 115521],
];

describe('other MRT samples decode without errors', () => {
  for (const [file, kinds, lines] of COUNTED) {
    const input = sharedData(file);
    it.skipIf(input === null)(file, async () => {
      const seen: Record<string, number> = {};
      let n = 0;
      let guessed = 0;
      for await (const r of readMrtFile(input as string, { guessAddPath: true })) {
        seen[r.kind] = (seen[r.kind] ?? 0) + 1;
        n += bgpdumpLines(r).length;
        if (r.kind === 'bgp4mp_message' && r.message.type === 'update' && r.message.addPathGuessed) {
          guessed++;
        }
      }
      expect(seen).toEqual(kinds);
      expect(n).toBe(lines);
      expect(guessed).toBe(GUESSED[file] ?? 0);
      if (guessed > 0) {
        const strict = await collect(readMrtFile(input as string));
        expect(strict.filter((r) => r.kind === 'error')).toHaveLength(guessed);
      }
    });
  }
});

describe('damaged MRT input (CAIDA mrt-tools, RIPE trailing-bits case)', () => {
  const dir = 'mrt/caida-mrt-tools';
  const shortHeader = sharedData(`${dir}/short-header.mrt`);
  const short = sharedData(`${dir}/short.mrt`);
  const corrupt = sharedData(`${dir}/corrupt-nlri.mrt`);
  const trailing = sharedData(`${RIPE}/updates.nlri_mask_trailing_bits.gz`);

  it.skipIf(shortHeader === null)('short-header.mrt: truncated header at offset 0', async () => {
    await expect(collect(readMrtFile(shortHeader as string))).rejects.toThrow(
      'MRT record #0 at byte offset 0: truncated header: 11 of 12 bytes before end of input',
    );
  });

  it.skipIf(short === null)('short.mrt: truncated body at offset 0', async () => {
    await expect(collect(readMrtFile(short as string))).rejects.toThrow(
      'MRT record #0 at byte offset 0: truncated body: 158 of 159 bytes before end of input',
    );
  });

  it.skipIf(corrupt === null)('corrupt-nlri.mrt: one error record naming the bad prefix', async () => {
    const recs = await collect(readMrtFile(corrupt as string));
    expect(recs).toHaveLength(1);
    expect(recs[0]?.kind === 'error' && recs[0].error).toMatch(
      /record #0 \(type 17\/4\) at byte offset 0: NLRI prefix length 113 exceeds 32 bits/,
    );
    // With the add-path guess the same bytes read as path id 12, 104.113.130.0/23, and are flagged.
    const [guess] = await collect(readMrtFile(corrupt as string, { guessAddPath: true }));
    expect(bgpdumpLines(guess as MrtRecord)).toEqual([
      'BGP4MP_ET|1642192201.032958|A|206.126.236.214|57695|104.113.130.0/23|12|57695 3223 3356 17072 32098 17072|IGP|206.126.236.214|0|0|3223:888 57695:13000|NAG||',
    ]);
    expect(guess?.kind === 'bgp4mp_message' && guess.message.type === 'update').toBe(true);
  });

  it.skipIf(trailing === null)('nlri_mask_trailing_bits: truncated NLRI is an error record', async () => {
    const recs = await collect(readMrtFile(trailing as string));
    expect(recs.map((r) => r.kind)).toEqual(['error']);
    expect(recs[0]?.kind === 'error' && recs[0].error).toMatch(/NLRI prefix \/11/);
  });
});
