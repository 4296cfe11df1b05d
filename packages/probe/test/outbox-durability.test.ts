/**
 * The order of file-system operations that makes the outbox crash-safe, watched through a wrapped
 * node:fs/promises: data fsynced before the rename that makes it visible, the directory fsynced
 * after, the ledger line fsynced before the outbox file is removed; and a write that fails half
 * way leaves nothing behind that could be taken for a measurement.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadOrCreateProbeKey } from '../src/identity/probe-key.js';
import { type SignedMeasurement, signMeasurement } from '../src/identity/sign.js';
import { stateLayout } from '../src/identity/state-dir.js';
import { Outbox } from '../src/outbox/outbox.js';
import { sampleMeasurement } from './upload-fake-collector.js';

const fsLog = vi.hoisted(() => ({
  ops: [] as string[],
  root: '',
  /** Makes the next operation of this kind fail, as a full disk or a crash would. */
  failNext: null as null | 'rename' | 'write',
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const name = (file: unknown) => {
    const text = String(file);
    if (!fsLog.root || !text.startsWith(fsLog.root)) return null;
    return (
      path
        .relative(fsLog.root, text)
        .replace(/\.tmp-[^/]*$/, 'TMP')
        .replace(/[0-9a-f]{64}/, 'ID') || '.'
    );
  };
  const record = (op: string, file: unknown) => {
    const n = name(file);
    if (n !== null) fsLog.ops.push(`${op} ${n}`);
  };
  const fail = (op: 'rename' | 'write') => {
    if (fsLog.failNext !== op) return;
    fsLog.failNext = null;
    throw Object.assign(new Error(`injected ${op} failure`), { code: 'EIO' });
  };
  const open: typeof actual.open = async (file, flags, mode) => {
    const handle = await actual.open(file, flags, mode);
    return new Proxy(handle, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          if (prop === 'sync' || prop === 'datasync') record('fsync', file);
          if (prop === 'write' || prop === 'writeFile' || prop === 'appendFile') {
            fail('write');
            record('write', file);
          }
          return value.apply(target, args);
        };
      },
    });
  };
  const rename: typeof actual.rename = async (from, to) => {
    fail('rename');
    record(`rename ${name(from)} ->`, to);
    return actual.rename(from, to);
  };
  const rmRecorded: typeof actual.rm = async (file, options) => {
    record('rm', file);
    return actual.rm(file, options);
  };
  return { ...actual, open, rename, rm: rmRecorded, default: { ...actual, open, rename, rm: rmRecorded } };
});

let dir: string;
let signed: SignedMeasurement;
beforeEach(async () => {
  dir = path.join(await mkdtemp(path.join(tmpdir(), 'pharos-durable-')), 'state');
  await (await Outbox.open(dir)).close();
  const { key } = await loadOrCreateProbeKey(stateLayout(dir));
  signed = signMeasurement(sampleMeasurement(1), key);
  fsLog.root = dir;
  fsLog.ops = [];
  fsLog.failNext = null;
});
afterEach(async () => {
  fsLog.root = '';
  await rm(path.dirname(dir), { recursive: true, force: true });
});

/** The operations recorded during `action`, on the outbox, failed/ and the ledger. */
async function opsOf(action: () => Promise<unknown>): Promise<string[]> {
  fsLog.ops = [];
  await action();
  return fsLog.ops.filter((op) => !op.endsWith(' probe.key') && !op.endsWith(' upload.lock'));
}

describe('outbox writes', () => {
  it('write a temp file, fsync it, rename it into place, then fsync the directory', async () => {
    const outbox = await Outbox.open(dir);
    const ops = await opsOf(() => outbox.add(signed));
    expect(ops).toEqual([
      'write outbox/TMP',
      'fsync outbox/TMP',
      'rename outbox/TMP -> outbox/ID.json',
      'fsync outbox',
    ]);
    await outbox.close();
  });

  it('record the upload in the ledger, fsynced, before removing the outbox file', async () => {
    const outbox = await Outbox.open(dir);
    await outbox.add(signed);
    const ops = await opsOf(() =>
      outbox.markSent([
        { id: signed.id, log_index: 0, duplicate: false, collector: 'http://c/', uploaded_at: 'now' },
      ]),
    );
    expect(ops.slice(0, 3)).toEqual(['write sent.jsonl', 'fsync sent.jsonl', 'rm outbox/ID.json']);
    expect(ops).toContain('fsync outbox');
    expect(ops.indexOf('fsync outbox')).toBeGreaterThan(ops.indexOf('rm outbox/ID.json'));
    await outbox.close();
  });

  it('make the failure record durable before removing the outbox file', async () => {
    const outbox = await Outbox.open(dir);
    await outbox.add(signed);
    const ops = await opsOf(() =>
      outbox.markFailed(signed.id, {
        failed_at: 'now',
        collector: 'http://c/',
        status: 400,
        reason: 'refused',
        item: signed.item,
      }),
    );
    expect(ops).toEqual([
      'write failed/TMP',
      'fsync failed/TMP',
      'rename failed/TMP -> failed/ID.json',
      'fsync failed',
      'rm outbox/ID.json',
      'fsync outbox',
    ]);
    await outbox.close();
  });

  it.each(['write', 'rename'] as const)('that fail at the %s leave no file behind', async (failing) => {
    const outbox = await Outbox.open(dir);
    fsLog.failNext = failing;
    await expect(outbox.add(signed)).rejects.toThrow(`injected ${failing} failure`);
    expect(await readdir(path.join(dir, 'outbox'))).toEqual([]);
    expect(await outbox.list()).toEqual([]);
    // The measurement can be queued again once the disk works.
    expect(await outbox.add(signed)).toBe('queued');
    expect((await outbox.list()).map((f) => f.id)).toEqual([signed.id]);
    await outbox.close();
  });
});
