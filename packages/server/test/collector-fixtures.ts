/** Shared by the collector's tests: a collector on a Fastify app, signed batches, zstd frames. */
import { gzipSync } from 'node:zlib';
import { seededRandom } from '@pharos/core';
import Fastify, { type FastifyInstance } from 'fastify';
import {
  benchProbe,
  type ProbeIdentity,
  type SignedItem,
  signItem,
  submissionBody,
  webConnectivityMeasurement,
} from '../src/bench/measurements.js';
import {
  type CollectorOptions,
  collectorRoutes,
  MemorySink,
  type NetworkOrigin,
} from '../src/collector/index.js';

export const PROBE = benchProbe(1);
export const OTHER_PROBE = benchProbe(2);

/** A fixed network for every address but loopback, so tests need not load the datasets. */
export const AZERCELL: NetworkOrigin = { cc: 'AZ', asn: 31721 };
export const fixedLocator = {
  lookup: (ip: string): NetworkOrigin =>
    ip.startsWith('127.') || ip === '::1' ? { cc: null, asn: null } : AZERCELL,
};

export interface TestCollector {
  app: FastifyInstance;
  sink: MemorySink;
}

export async function collector(options: Partial<CollectorOptions> = {}): Promise<TestCollector> {
  const sink = new MemorySink();
  const app = Fastify({ logger: false }) as unknown as FastifyInstance;
  await app.register(collectorRoutes({ store: sink, options, locator: fixedLocator }));
  await app.ready();
  return { app, sink };
}

let seed = 1000;
/** `n` fresh signed measurements (different each call). */
export function signed(
  n: number,
  probe: ProbeIdentity = PROBE,
  extra: Parameters<typeof webConnectivityMeasurement>[1] = {},
) {
  const random = seededRandom(seed++);
  return Array.from({ length: n }, () => signItem(webConnectivityMeasurement(random, extra), probe));
}

export function body(items: readonly SignedItem[]): string {
  return submissionBody(items);
}

export function post(
  app: FastifyInstance,
  payload: string | Buffer,
  headers: Record<string, string> = {},
  remoteAddress = '127.0.0.1',
) {
  return app.inject({
    method: 'POST',
    url: '/api/v1/measurements',
    headers: { 'content-type': 'application/json', ...headers },
    payload,
    remoteAddress,
  });
}

export function gzip(text: string | Buffer): Buffer {
  return gzipSync(text);
}

/**
 * A valid zstd frame holding `data` in raw (stored) blocks: what the collector must accept from
 * any encoder. Node 20 has no zstd compressor; a compressed frame is tested from a fixed blob.
 */
export function zstdRawFrame(data: Buffer | string): Buffer {
  const bytes = Buffer.from(data);
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];
  // Single segment, 4-byte content size, no checksum: the window is the content size.
  const fcs = Buffer.alloc(4);
  fcs.writeUInt32LE(bytes.length);
  parts.push(Buffer.from([0xa0]), fcs);
  const BLOCK = 128 * 1024;
  for (let pos = 0; pos < bytes.length || pos === 0; pos += BLOCK) {
    const chunk = bytes.subarray(pos, pos + BLOCK);
    const last = pos + BLOCK >= bytes.length ? 1 : 0;
    const header = last | (0 << 1) | (chunk.length << 3);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), chunk);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(parts);
}

/**
 * A zstd bomb: a frame without a declared size whose RLE blocks each expand 1 byte to 128 KiB,
 * `blocks` of them (4 bytes each on the wire).
 */
export function zstdRLEBomb(blocks: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (23 - 10) << 3])];
  for (let i = 0; i < blocks; i++) {
    const header = (i === blocks - 1 ? 1 : 0) | (1 << 1) | ((128 * 1024) << 3);
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff, 0x20]));
  }
  return Buffer.concat(parts);
}

/**
 * Made with `zstd -19` (real compressed blocks, checksum) from a batch whose one item has a 3-byte
 * probe_key: decoding it right gives exactly that complaint.
 */
export const ZSTD_COMPRESSED_BATCH = Buffer.from(
  'KLUv/WT7DU0KAMaRNh5Ab3UMUvSlZOxsaI3oMRouDY9wO6bWZHPEdhmGnQssAC0ALQD9GlcTRwn7tYzxPdOeUbRzR410JX4aXZ1RnCghM4wYEgdY7oPMt/eLVjqeCV9tMcB6AowFCM963q4RbNf7mp3zWNmoZEbPoo7TeHZDpBnh1VfzNOvtqxTnXpEvGnHN2kyjF53uq7RD8tX37Q3oeuXUXU3hYRMmIMggWIYHcXh75OeUIXdeBdNi0pX6xQfkq0+DQcOitL80pMCGNEYJOYZWpoWafpiXdpdmCVG4Kk2uDmg0Y1oGKSBAAkOM1Sw9FkRSAIgDJEsA+SK7AYasua2zAHAGsNxQL3gUzRvJ4KPOMD5vTzymKBfGOIIV7EhCNnaQx14HxYNC14Fw2LkQYQi8gSgUvMssqIA2wKkYPjQZJbJBZrljcG26claME4EqxOE9Jiy9QA==',
  'base64',
);
