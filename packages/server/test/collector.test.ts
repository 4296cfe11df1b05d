import { createHash } from 'node:crypto';
import { canonicalJSON, ed25519PublicKey, ed25519Sign, seededRandom, toBase64 } from '@pharos/core';
import { afterEach, describe, expect, it } from 'vitest';
import { webConnectivityMeasurement } from '../src/bench/measurements.js';
import {
  AZERCELL,
  body,
  collector,
  gzip,
  OTHER_PROBE,
  post,
  signed,
  type TestCollector,
  ZSTD_COMPRESSED_BATCH,
  zstdRawFrame,
  zstdRLEBomb,
} from './collector-fixtures.js';

let c: TestCollector;
/** The stored body as text. */
const text = (stored: { body: Uint8Array }) => Buffer.from(stored.body).toString('utf8');
afterEach(async () => {
  await c?.app.close();
});

/** Refused with this status and a message matching `message`; nothing stored; still serving. */
async function expectRefused(
  res: Awaited<ReturnType<typeof post>>,
  status: number,
  message: RegExp | string,
): Promise<void> {
  expect(res.statusCode, res.body).toBe(status);
  const error = (res.json() as { error: string }).error;
  if (typeof message === 'string') expect(error).toBe(message);
  else expect(error).toMatch(message);
  const stored = c.sink.entries.length;
  const good = signed(1);
  const after = await post(c.app, body(good));
  expect(after.statusCode, after.body).toBe(200);
  expect(c.sink.entries.length).toBe(stored + 1);
  c.sink.entries.pop();
}

function withItem(
  items: ReturnType<typeof signed>,
  index: number,
  change: (item: Record<string, unknown>) => void,
) {
  const parsed = JSON.parse(body(items)) as { measurements: Record<string, unknown>[] };
  change(parsed.measurements[index]!);
  return JSON.stringify(parsed);
}

describe('POST /api/v1/measurements', () => {
  it('accepts a signed batch, stores it and answers with ids and log indexes', async () => {
    c = await collector();
    const items = signed(3);
    const res = await post(c.app, body(items));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      results: items.map((s, i) => ({ id: s.id, log_index: i, duplicate: false })),
    });
    expect(c.sink.entries.map((e) => e.id)).toEqual(items.map((s) => s.id));
    const stored = c.sink.get(items[1]!.id)!;
    expect(text(stored)).toBe(items[1]!.canonical);
    expect(stored.id).toBe(createHash('sha256').update(text(stored)).digest('hex'));
    expect(stored.measurement).toEqual(JSON.parse(items[1]!.canonical));
    expect(stored.probeKey).toBe(items[1]!.item.probe_key);
    expect(stored.signature).toBe(items[1]!.item.signature);
    expect(stored.scrubbed).toBe(false);
    // From loopback: no network to derive.
    expect(stored.network).toEqual({
      derivedCC: null,
      derivedASN: null,
      claimedCC: 'AZ',
      claimedASN: (JSON.parse(items[1]!.canonical) as { probe_asn: string }).probe_asn,
      mismatch: false,
    });
  });

  it('accepts measurements signed with core (noble) and sent in any member order', async () => {
    c = await collector();
    const seed = createHash('sha256').update('core signer').digest();
    const measurement = webConnectivityMeasurement(seededRandom(7));
    const canonical = canonicalJSON(measurement);
    const signature = ed25519Sign(new TextEncoder().encode(canonical), seed);
    const item = { measurement, probe_key: toBase64(ed25519PublicKey(seed)), signature: toBase64(signature) };
    const res = await post(c.app, JSON.stringify({ measurements: [item], format: 'pharos-submission/v1' }));
    expect(res.statusCode, res.body).toBe(200);
    expect(text(c.sink.entries[0]!)).toBe(canonical);
  });

  it('stores a replay once and answers with the original log index', async () => {
    c = await collector();
    const items = signed(2);
    await post(c.app, body(items));
    const again = await post(c.app, body([items[1]!, ...signed(1), items[1]!]));
    expect(again.statusCode).toBe(200);
    const results = (again.json() as { results: { log_index: number; duplicate: boolean }[] }).results;
    expect(results.map((r) => [r.log_index, r.duplicate])).toEqual([
      [1, true],
      [2, false],
      [1, true],
    ]);
    expect(c.sink.entries).toHaveLength(3);
  });

  it('accepts gzip and zstd bodies', async () => {
    c = await collector();
    const a = signed(2);
    const b = signed(2);
    expect((await post(c.app, gzip(body(a)), { 'content-encoding': 'gzip' })).statusCode).toBe(200);
    const z = await post(c.app, zstdRawFrame(body(b)), { 'content-encoding': 'zstd' });
    expect(z.statusCode, z.body).toBe(200);
    expect(c.sink.entries.map((e) => e.id)).toEqual([...a, ...b].map((s) => s.id));
  });

  it('decodes real compressed zstd (here, a batch with a bad key: the complaint proves it was read)', async () => {
    c = await collector();
    const res = await post(c.app, ZSTD_COMPRESSED_BATCH, { 'content-encoding': 'zstd' });
    await expectRefused(
      res,
      400,
      'measurements[0]: probe_key has 3 bytes, expected 32 (an Ed25519 public key)',
    );
  });

  it('derives the network from a public address and records a mismatch with the claim', async () => {
    c = await collector();
    const same = signed(1, undefined, { probeCC: 'AZ', probeASN: 'AS31721' });
    const other = signed(1, undefined, { probeCC: 'AZ', probeASN: 'AS29049' });
    const withheld = signed(1, undefined, { probeCC: 'ZZ', probeASN: 'AS0' });
    const res = await post(c.app, body([...same, ...other, ...withheld]), {}, '198.51.100.20');
    expect(res.statusCode).toBe(200);
    expect(c.sink.entries.map((e) => e.network)).toEqual([
      { derivedCC: 'AZ', derivedASN: AZERCELL.asn, claimedCC: 'AZ', claimedASN: 'AS31721', mismatch: false },
      { derivedCC: 'AZ', derivedASN: AZERCELL.asn, claimedCC: 'AZ', claimedASN: 'AS29049', mismatch: true },
      { derivedCC: 'AZ', derivedASN: AZERCELL.asn, claimedCC: 'ZZ', claimedASN: 'AS0', mismatch: false },
    ]);
  });
});

describe('bad input: a clear 4xx, nothing stored, the server keeps serving', () => {
  it('refuses malformed JSON', async () => {
    c = await collector();
    await expectRefused(
      await post(c.app, '{"format": "pharos-submission/v1", '),
      400,
      /^body is not valid JSON: /,
    );
    await expectRefused(
      await post(c.app, Buffer.from([0x7b, 0xff, 0x7d])),
      400,
      'body is not valid UTF-8 JSON text',
    );
    await expectRefused(await post(c.app, ''), 400, 'body is empty: send a JSON batch');
  });

  it.each([
    [{}, 'format: must be "pharos-submission/v1"'],
    [{ format: 'pharos-submission/v2', measurements: [] }, 'format: must be "pharos-submission/v1"'],
    [{ format: 'pharos-submission/v1', measurements: {} }, 'measurements: must be an array of measurements'],
    [{ format: 'pharos-submission/v1', measurements: [] }, 'measurements: is empty, nothing to submit'],
    [[1, 2], 'body: Invalid input: expected object, received array'],
    [{ format: 'pharos-submission/v1', measurements: [], extra: 1 }, 'body: unknown field "extra"'],
  ])('refuses the wrapper %j', async (wrapper, message) => {
    c = await collector();
    await expectRefused(await post(c.app, JSON.stringify(wrapper)), 400, message);
  });

  it('refuses unknown fields in an item, and missing ones, naming the item', async () => {
    c = await collector();
    const items = signed(3);
    await expectRefused(
      await post(
        c.app,
        withItem(items, 2, (item) => Object.assign(item, { signatures: 'x' })),
      ),
      400,
      'measurements[2]: unknown field "signatures"',
    );
    await expectRefused(
      await post(
        c.app,
        withItem(items, 1, (item) => delete item.signature),
      ),
      400,
      'measurements[1]: signature: is missing',
    );
    await expectRefused(
      await post(
        c.app,
        withItem(items, 0, (item) => delete item.measurement),
      ),
      400,
      'measurements[0]: measurement: is missing',
    );
    expect(c.sink.entries).toHaveLength(0);
  });

  it.each<[string, (m: Record<string, unknown>) => void, string | RegExp]>([
    [
      'probe_ip',
      (m) => (m.probe_ip = '203.0.113.9'),
      /^measurements\[1\]: measurement\.probe_ip: must be "127\.0\.0\.1"/,
    ],
    [
      'data_format_version',
      (m) => (m.data_format_version = '0.3.0'),
      'measurements[1]: measurement.data_format_version: must be "0.2.0" (OONI data format)',
    ],
    [
      'test_name',
      (m) => (m.test_name = 'web_connectivityy'),
      'measurements[1]: measurement.test_name: is not a known test name',
    ],
    [
      'measurement_start_time',
      (m) => (m.measurement_start_time = '2026-02-30 10:00:00'),
      'measurements[1]: measurement.measurement_start_time: must be a UTC time as "YYYY-MM-DD hh:mm:ss"',
    ],
    [
      'probe_cc',
      (m) => (m.probe_cc = 'aze'),
      /^measurements\[1\]: measurement\.probe_cc: must be an ISO 3166-1/,
    ],
    ['probe_asn', (m) => (m.probe_asn = 29049), /^measurements\[1\]: measurement\.probe_asn: /],
    ['test_keys', (m) => (m.test_keys = []), 'measurements[1]: measurement.test_keys: must be an object'],
    [
      'a missing field',
      (m) => delete m.software_name,
      'measurements[1]: measurement.software_name: is missing',
    ],
    [
      'deep nesting',
      (m) => (m.test_keys = { x: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) }),
      'measurements[1]: measurement is nested deeper than 64 levels',
    ],
    [
      'a lone surrogate',
      (m) => (m.input = 'https://x.test/\ud800'),
      /^measurements\[1\]: measurement is not plain JSON: .*lone surrogate/,
    ],
  ])('refuses an envelope with a bad %s', async (_what, change, message) => {
    c = await collector();
    const items = signed(2);
    await expectRefused(
      await post(
        c.app,
        withItem(items, 1, (item) => change(item.measurement as Record<string, unknown>)),
      ),
      400,
      message,
    );
  });

  it('refuses a number JSON cannot hold', async () => {
    c = await collector();
    const text = body(signed(1)).replace('"test_runtime":', '"test_keys_x":1e400,"test_runtime":');
    await expectRefused(
      await post(c.app, text),
      400,
      'measurements[0]: measurement has a number too large for JSON (e.g. 1e400)',
    );
  });

  it('refuses a signature that does not verify, naming the item', async () => {
    c = await collector();
    const items = signed(4);
    const flipped = withItem(items, 3, (item) => {
      const sig = Buffer.from(item.signature as string, 'base64');
      sig[10]! ^= 1;
      item.signature = sig.toString('base64');
    });
    await expectRefused(await post(c.app, flipped), 400, /^measurements\[3\]: signature does not verify/);
    // Signed by someone else than probe_key says.
    const other = signed(1, OTHER_PROBE)[0]!;
    const forged = withItem(items, 1, (item) => (item.signature = other.item.signature));
    await expectRefused(await post(c.app, forged), 400, /^measurements\[1\]: signature does not verify/);
    // A changed measurement under the original signature.
    const tampered = withItem(
      items,
      2,
      (item) => ((item.measurement as { probe_cc: string }).probe_cc = 'AM'),
    );
    await expectRefused(await post(c.app, tampered), 400, /^measurements\[2\]: signature does not verify/);
    expect(c.sink.entries).toHaveLength(0);
  });

  it('refuses wrong key and signature lengths, bad base64 and weak keys', async () => {
    c = await collector();
    const items = signed(2);
    const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');
    await expectRefused(
      await post(
        c.app,
        withItem(items, 0, (item) => (item.probe_key = b64(31))),
      ),
      400,
      'measurements[0]: probe_key has 31 bytes, expected 32 (an Ed25519 public key)',
    );
    await expectRefused(
      await post(
        c.app,
        withItem(items, 1, (item) => (item.signature = b64(63))),
      ),
      400,
      'measurements[1]: signature has 63 bytes, expected 64 (an Ed25519 signature)',
    );
    await expectRefused(
      await post(
        c.app,
        withItem(items, 1, (item) => (item.probe_key = `${(item.probe_key as string).slice(0, -1)}`)),
      ),
      400,
      /^measurements\[1\]: probe_key is not valid base64: /,
    );
    // The identity point "signs" every message with S = r: refused as a key before any signature.
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    await expectRefused(
      await post(
        c.app,
        withItem(items, 0, (item) => (item.probe_key = identity.toString('base64'))),
      ),
      400,
      'measurements[0]: probe_key is a small-order point, not a usable public key',
    );
  });

  it('refuses an oversized measurement, naming it, with 413', async () => {
    c = await collector({ maxMeasurementBytes: 16 * 1024 });
    const items = signed(40)
      .filter((s) => s.canonical.length < 16 * 1024)
      .slice(0, 2);
    const big = signed(40).find((s) => s.canonical.length > 16 * 1024)!;
    const res = await post(c.app, body([...items, big]));
    await expectRefused(
      res,
      413,
      `measurements[2]: measurement is ${big.canonical.length} bytes as canonical JSON, more than the limit of 16384`,
    );
  });

  it('refuses an oversized body and an oversized batch with 413', async () => {
    c = await collector({ bodyLimit: 64 * 1024, maxBatchSize: 3, rateLimit: { perSecond: 10, burst: 100 } });
    const items = signed(8);
    await expectRefused(
      await post(c.app, body(items)),
      413,
      'body is larger than 65536 bytes: send smaller batches',
    );
    const small = signed(4).map((s) => ({ ...s, item: { ...s.item, measurement: { tiny: true } } }));
    await expectRefused(
      await post(c.app, body(small)),
      413,
      'measurements: 4 in one batch, at most 3: send smaller batches',
    );
  });

  it('refuses zip bombs without inflating them', async () => {
    c = await collector({ maxDecompressedBytes: 1024 * 1024 });
    const zeros = gzip(Buffer.alloc(50 * 1024 * 1024));
    expect(zeros.length).toBeLessThan(100 * 1024);
    await expectRefused(
      await post(c.app, zeros, { 'content-encoding': 'gzip' }),
      413,
      'body decompresses to more than 1048576 bytes: send smaller batches',
    );
    // 4 bytes per 128 KiB: a 400 KB body claiming 12.5 GiB; refused from its block headers alone.
    const before = process.memoryUsage().arrayBuffers;
    await expectRefused(
      await post(c.app, zstdRLEBomb(100_000), { 'content-encoding': 'zstd' }),
      413,
      'body decompresses to more than 1048576 bytes: send smaller batches',
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    // A frame header that declares 2 GiB of content.
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0x80, 0x01, 0, 0]);
    await expectRefused(
      await post(c.app, header, { 'content-encoding': 'zstd' }),
      413,
      /^body decompresses to more than/,
    );
  });

  it('refuses unsupported and broken encodings', async () => {
    c = await collector();
    const text = body(signed(1));
    await expectRefused(
      await post(c.app, text, { 'content-encoding': 'br' }),
      415,
      'Content-Encoding "br" is not supported: send the body as is, or with gzip or zstd',
    );
    await expectRefused(
      await post(c.app, text, { 'content-encoding': 'gzip, zstd' }),
      415,
      /is not supported/,
    );
    await expectRefused(
      await post(c.app, text, { 'content-encoding': 'gzip' }),
      400,
      /^body is not valid gzip: /,
    );
    await expectRefused(
      await post(c.app, text, { 'content-encoding': 'zstd' }),
      400,
      'body is not valid zstd: bad frame magic number',
    );
    await expectRefused(
      await post(c.app, zstdRawFrame(text).subarray(0, 100), { 'content-encoding': 'zstd' }),
      400,
      'body is not valid zstd: truncated raw block',
    );
  });

  it('refuses a body that is not JSON by content type', async () => {
    c = await collector();
    await expectRefused(
      await post(c.app, body(signed(1)), { 'content-type': 'text/plain' }),
      415,
      'send the batch as JSON with Content-Type: application/json',
    );
  });

  it('limits each key, not everyone, with 429 and Retry-After', async () => {
    c = await collector({ maxBatchSize: 3, rateLimit: { perSecond: 0.5, burst: 3 } });
    expect((await post(c.app, body(signed(3)))).statusCode).toBe(200);
    const limited = await post(c.app, body(signed(2)));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('4');
    expect(limited.json()).toEqual({ error: 'too many measurements from this probe key: retry in 4 s' });
    expect((await post(c.app, body(signed(3, OTHER_PROBE)))).statusCode).toBe(200);
    expect(c.sink.entries).toHaveLength(6);
  });

  it('answers 503 with Retry-After when too much is in flight, and 500 when the store fails', async () => {
    c = await collector({ maxPendingBytes: 30_000 });
    let release: () => void = () => {};
    c.sink.gate = new Promise((resolve) => {
      release = resolve;
    });
    const first = post(c.app, body(signed(1)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const busy = await post(c.app, body(signed(2)));
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('2');
    // A small compressed body may not inflate past what is left of the budget either.
    const inflating = await post(c.app, gzip(Buffer.alloc(100_000, 32)), { 'content-encoding': 'gzip' });
    expect(inflating.statusCode).toBe(503);
    release();
    expect((await first).statusCode).toBe(200);
    c.sink.gate = Promise.reject(new Error('disk full'));
    c.sink.gate.catch(() => {});
    const failed = await post(c.app, body(signed(1)));
    expect(failed.statusCode).toBe(500);
    expect(failed.json().error).toMatch(
      /^the batch could not be stored because of a server error: retry later/,
    );
  });
});

describe('scrubbing the submitter address', () => {
  it('replaces every whole occurrence of the client IP, also in member names and base64 bodies', async () => {
    c = await collector();
    const ip = '198.51.100.20';
    const [item] = signed(1, undefined, { extraText: `you are ${ip}, not 198.51.100.201 or 1198.51.100.20` });
    const m = JSON.parse(item!.canonical) as Record<string, { [k: string]: unknown }>;
    m.test_keys!.x_seen = {
      [ip]: `${ip}:443`,
      body: { format: 'base64', data: Buffer.from(`\u0000ip=${ip}\n`).toString('base64') },
    };
    const { signItem } = await import('../src/bench/measurements.js');
    const { PROBE } = await import('./collector-fixtures.js');
    const resigned = signItem(m, PROBE);
    const res = await post(c.app, body([resigned]), {}, ip);
    expect(res.statusCode, res.body).toBe(200);
    const stored = c.sink.entries[0]!;
    expect(stored.scrubbed).toBe(true);
    // The id stays the signed measurement's (so retries from another address dedupe); the
    // stored canonical text is the scrubbed one.
    expect(stored.id).toBe(resigned.id);
    expect(text(stored)).toBe(canonicalJSON(stored.measurement));
    expect(text(stored)).not.toMatch(/(?<![0-9.])198\.51\.100\.20(?![0-9])/);
    expect(text(stored)).toContain('you are [scrubbed], not 198.51.100.201 or 1198.51.100.20');
    expect(text(stored)).toContain('"[scrubbed]":"[scrubbed]:443"');
    const x = (stored.measurement.test_keys as { x_seen: { body: { data: string } } }).x_seen;
    expect(Buffer.from(x.body.data, 'base64').toString()).toBe('\u0000ip=[scrubbed]\n');
    expect(JSON.stringify(stored)).not.toMatch(/(?<![0-9.])198\.51\.100\.20(?![0-9])/);
  });

  it('scrubs an IPv6 client in any letter case, and leaves bodies without the address alone', async () => {
    c = await collector();
    const ip = '2001:db8:42::7';
    const items = [
      ...signed(1, undefined, { extraText: 'peer 2001:DB8:42::7 and 2001:db8:42::70' }),
      ...signed(1),
    ];
    const res = await post(c.app, body(items), {}, ip);
    expect(res.statusCode).toBe(200);
    expect(text(c.sink.entries[0]!)).toContain('peer [scrubbed] and 2001:db8:42::70');
    expect(c.sink.entries[1]!.scrubbed).toBe(false);
    expect(text(c.sink.entries[1]!)).toBe(items[1]!.canonical);
  });
});
