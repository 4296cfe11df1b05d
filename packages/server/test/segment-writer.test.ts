/**
 * The body segment writer (segment-writer.ts) writes whole blocks with O_DIRECT and the last
 * partial block through the page cache, rewriting that block on the next append. Whatever the
 * mix of appends, cut-backs and reopenings, the file must hold exactly the bytes appended, in
 * order, with nothing after them — with O_DIRECT and without it.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SegmentWriter } from '../src/evidence/segment-writer.js';
import { tempDir } from './evidence-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir('pharos-segment-');
});
afterEach(async () => {
  await tmp.remove();
});

/** A small deterministic generator (xorshift32), so a failure can be replayed. */
function random(seed: number) {
  let x = seed;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function bytes(length: number, fill: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (fill + i * 31) & 0xff;
  return b;
}

describe.each([
  { directIO: true, name: 'with O_DIRECT where the file system has it' },
  { directIO: false, name: 'through the page cache' },
])('the segment writer, $name', ({ directIO }) => {
  it('holds exactly the bytes appended, across appends, cut-backs and reopenings', async () => {
    const file = path.join(tmp.dir, 'segment');
    const next = random(directIO ? 0x9e3779b9 : 0x85ebca6b);
    let expected = Buffer.alloc(0);
    let writer = await SegmentWriter.open(file, 0, true, { directIO });
    if (!directIO) expect(writer.directIO).toBe(false);
    const history: string[] = [];
    try {
      for (let step = 0; step < 120; step++) {
        const op = next(10);
        if (op < 7) {
          // Sizes around and across block boundaries, and empty buffers.
          const buffers = Array.from({ length: 1 + next(6) }, () =>
            bytes([0, 1, 4095, 4096, 4097, 300, 12_600][next(7)]! + next(50), step),
          );
          await writer.append(buffers);
          expected = Buffer.concat([expected, ...buffers]);
          history.push(`append ${buffers.map((b) => b.length).join('+')}`);
        } else if (op < 9) {
          const end = next(expected.length + 1);
          await writer.truncate(end);
          expected = expected.subarray(0, end);
          history.push(`truncate ${end}`);
        } else {
          await writer.datasync();
          await writer.close();
          writer = await SegmentWriter.open(file, expected.length, false, { directIO });
          history.push('reopen');
        }
        const onDisk = await readFile(file);
        if (!onDisk.equals(expected)) {
          throw new Error(
            `after ${history.join(', ')}: the file has ${onDisk.length} bytes, expected ${expected.length}${onDisk.length === expected.length ? ' (the contents differ)' : ''}`,
          );
        }
      }
    } finally {
      await writer.close();
    }
  });

  it('writes an append larger than its staging buffer in pieces, whole', async () => {
    const file = path.join(tmp.dir, 'segment');
    const writer = await SegmentWriter.open(file, 0, true, { directIO });
    try {
      const head = bytes(1000, 1);
      const big = bytes(9 * 1024 * 1024 + 123, 2);
      await writer.append([head]);
      await writer.append([big, head]);
      await writer.datasync();
      expect((await stat(file)).size).toBe(head.length * 2 + big.length);
      expect((await readFile(file)).equals(Buffer.concat([head, big, head]))).toBe(true);
    } finally {
      await writer.close();
    }
  });

  it('refuses to open at an end past the file', async () => {
    const file = path.join(tmp.dir, 'segment');
    const writer = await SegmentWriter.open(file, 0, true, { directIO });
    await writer.append([bytes(100, 3)]);
    await writer.close();
    await expect(SegmentWriter.open(file, 5000, false, { directIO })).rejects.toThrow(
      'the body file ends before byte 5000',
    );
  });
});
