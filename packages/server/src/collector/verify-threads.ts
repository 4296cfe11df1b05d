/**
 * Signature checks and measurement ids off the main thread: worker threads that verify each
 * measurement's Ed25519 signature (libsodium, see sodium.ts) and hash its canonical bytes
 * (SHA-256, the id), a batch per message.
 *
 * Why threads of our own rather than node:crypto's asynchronous verify: that one queues every
 * verification on libuv's thread pool, the pool the evidence store's fsyncs also wait in, so a few
 * hundred queued verifications delay each commit's fsync (and every acknowledgement behind it); and
 * each call costs the main thread more than a message per batch does. Here the main thread copies
 * the batch's bytes once and posts them.
 *
 * The workers run a small script given as source (`eval`), so they work the same from the compiled
 * server and from the TypeScript sources under test. The keys they see were checked by the main
 * thread first (signature.ts: weak and invalid keys never get here).
 */
import { Worker } from 'node:worker_threads';
import { SODIUM_MODULE } from './sodium.js';

/** One measurement to check: its canonical bytes, the raw probe key and the signature. */
export interface VerifyItem {
  bytes: Uint8Array;
  rawKey: Uint8Array;
  signature: Uint8Array;
}

export interface VerifyResult {
  /** Per item, whether its signature verifies. */
  ok: boolean[];
  /** Per item, lower-case hex SHA-256 of its bytes. */
  ids: string[];
}

interface Request {
  id: number;
  count: number;
  data: Uint8Array;
  /** Item i is data[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array;
  rawKeys: Uint8Array;
  signatures: Uint8Array;
}

interface Reply {
  id: number;
  ok: Uint8Array;
  ids: string[];
}

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const sodium = require(workerData.sodium);
parentPort.on('message', (request) => {
  const { id, data, offsets, rawKeys, signatures, count } = request;
  const ok = new Uint8Array(count);
  const ids = new Array(count);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < count; i++) {
    const message = bytes.subarray(offsets[i], offsets[i + 1]);
    ids[i] = createHash('sha256').update(message).digest('hex');
    let good = false;
    try {
      good = sodium.crypto_sign_verify_detached(
        signatures.subarray(i * 64, i * 64 + 64),
        message,
        rawKeys.subarray(i * 32, i * 32 + 32),
      );
    } catch {
      good = false;
    }
    ok[i] = good ? 1 : 0;
  }
  parentPort.postMessage({ id, ok, ids }, [ok.buffer]);
});
`;

/** Items per message below which a batch is not split between idle threads. */
const MIN_SPLIT = 8;

class VerifyWorker {
  readonly worker: Worker;
  /** Items posted and not yet answered: the least loaded worker gets the next message. */
  load = 0;
  private readonly pending = new Map<
    number,
    { size: number; resolve(r: Reply): void; reject(e: Error): void }
  >();
  private nextId = 0;

  constructor(onGone: (w: VerifyWorker) => void) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'pharos-verify',
      workerData: { sodium: SODIUM_MODULE },
    });
    // Idle workers do not keep the process alive; closing the collector terminates them.
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      this.load -= p.size;
      p.resolve(reply);
    });
    const fail = (err: Error) => {
      onGone(this);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      this.load = 0;
    };
    this.worker.on('error', (err) => fail(err));
    this.worker.on('exit', (code) =>
      fail(new Error(`a signature-checking thread stopped (exit code ${code})`)),
    );
  }

  post(request: Omit<Request, 'id'>, size: number): Promise<Reply> {
    const id = this.nextId++;
    this.load += size;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { size, resolve, reject });
      this.worker.postMessage({ id, ...request } satisfies Request, [
        request.data.buffer as ArrayBuffer,
        request.offsets.buffer as ArrayBuffer,
        request.rawKeys.buffer as ArrayBuffer,
        request.signatures.buffer as ArrayBuffer,
      ]);
    });
  }
}

/** A fixed number of verification threads, started on first use. */
export class VerifyThreads {
  private readonly workers: VerifyWorker[] = [];
  private closed = false;

  constructor(readonly count: number) {
    if (!(Number.isInteger(count) && count > 0)) throw new RangeError('verification threads must be >= 1');
  }

  /** Verifies every item and hashes its bytes; rejects only if a thread fails. */
  async verify(items: readonly VerifyItem[]): Promise<VerifyResult> {
    if (this.closed) throw new Error('the collector is closed');
    while (this.workers.length < this.count) {
      this.workers.push(new VerifyWorker((gone) => this.workers.splice(this.workers.indexOf(gone) >>> 0, 1)));
    }
    // A batch is split only between idle threads (so that one request alone is answered sooner);
    // under load each message costs the main thread, and whole batches keep every thread busy.
    const idle = this.workers.reduce((n, w) => n + (w.load === 0 ? 1 : 0), 0);
    const parts = Math.max(1, Math.min(idle, Math.floor(items.length / MIN_SPLIT)));
    const per = Math.ceil(items.length / parts);
    const replies: Promise<Reply>[] = [];
    for (let from = 0; from < items.length; from += per) {
      const slice = items.slice(from, from + per);
      const worker = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
      replies.push(worker.post(pack(slice), slice.length));
    }
    const ok: boolean[] = [];
    const ids: string[] = [];
    for (const reply of await Promise.all(replies)) {
      for (const v of reply.ok) ok.push(v === 1);
      ids.push(...reply.ids);
    }
    return { ok, ids };
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

/** The items' bytes, keys and signatures in fresh buffers, moved (not copied) to the thread. */
function pack(items: readonly VerifyItem[]): Omit<Request, 'id'> {
  let total = 0;
  for (const item of items) total += item.bytes.length;
  const data = new Uint8Array(total);
  const offsets = new Uint32Array(items.length + 1);
  const rawKeys = new Uint8Array(items.length * 32);
  const signatures = new Uint8Array(items.length * 64);
  let at = 0;
  for (const [i, item] of items.entries()) {
    offsets[i] = at;
    data.set(item.bytes, at);
    at += item.bytes.length;
    rawKeys.set(item.rawKey, i * 32);
    signatures.set(item.signature, i * 64);
  }
  offsets[items.length] = at;
  return { count: items.length, data, offsets, rawKeys, signatures };
}
