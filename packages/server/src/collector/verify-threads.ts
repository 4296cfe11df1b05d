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
 * server and from the TypeScript sources under test. A batch of items carries keys the main thread
 * checked first (signature.ts); a whole body is checked here first, and the main thread refuses
 * weak or malformed keys afterwards, before it looks at the answers.
 */
import { Worker } from 'node:worker_threads';
import { MAX_DEPTH } from './canonical.js';
import { canonicalScanner, type ScannedItem } from './canonical-scan.js';
import { SUBMISSION_FORMAT } from './schema.js';
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

/** What a thread found in a whole batch body: its items (null: not canonical) and their checks. */
export interface ScanResult {
  /** The body, back from the thread: the caller's own buffer may have been moved there. */
  body: Buffer;
  items: ScannedItem[] | null;
  /** Per item; a key or signature that is not base64 of the right length does not verify. */
  verified: VerifyResult | null;
}

/** A message to a thread; `post` adds the id its reply carries back. */
type Request =
  | {
      kind: 'items';
      count: number;
      data: Uint8Array;
      /** Item i is data[offsets[i], offsets[i + 1]). */
      offsets: Uint32Array;
      rawKeys: Uint8Array;
      signatures: Uint8Array;
    }
  | { kind: 'body'; body: Uint8Array; maxItems: number };

interface Reply {
  id: number;
  ok: Uint8Array;
  ids: string[];
  /** For a body: what the scan found, and the body itself, moved back. */
  items?: ScannedItem[] | null;
  body?: Uint8Array;
}

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const sodium = require(workerData.sodium);
const scanCanonicalBatch = (${canonicalScanner.toString()})(${MAX_DEPTH}, ${JSON.stringify(SUBMISSION_FORMAT)});
function check(message, signature, key) {
  try {
    return signature.length === 64 && key.length === 32 && sodium.crypto_sign_verify_detached(signature, message, key);
  } catch {
    return false;
  }
}
function items(request) {
  const { id, data, offsets, rawKeys, signatures, count } = request;
  const ok = new Uint8Array(count);
  const ids = new Array(count);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < count; i++) {
    const message = bytes.subarray(offsets[i], offsets[i + 1]);
    ids[i] = createHash('sha256').update(message).digest('hex');
    ok[i] = check(message, signatures.subarray(i * 64, i * 64 + 64), rawKeys.subarray(i * 32, i * 32 + 32)) ? 1 : 0;
  }
  return { id, ok, ids };
}
function body(request) {
  const { id, maxItems } = request;
  const bytes = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
  const found = scanCanonicalBatch(bytes, maxItems);
  if (!found) return { id, ok: new Uint8Array(0), ids: [], items: null, body: request.body };
  const ok = new Uint8Array(found.length);
  const ids = new Array(found.length);
  for (let i = 0; i < found.length; i++) {
    const s = found[i];
    const message = bytes.subarray(s.start, s.end);
    ids[i] = createHash('sha256').update(message).digest('hex');
    ok[i] = check(message, Buffer.from(s.signature, 'base64'), Buffer.from(s.probeKey, 'base64')) ? 1 : 0;
  }
  return { id, ok, ids, items: found, body: request.body };
}
parentPort.on('message', (request) => {
  const reply = request.kind === 'body' ? body(request) : items(request);
  parentPort.postMessage(reply, reply.body ? [reply.ok.buffer, reply.body.buffer] : [reply.ok.buffer]);
});
`;

/** Items per message below which a batch is not split between idle threads. */
const MIN_SPLIT = 8;

class VerifyWorker {
  readonly worker: Worker;
  /** Bytes posted and not yet answered: the least loaded worker gets the next message. */
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

  /** Posts a request, moving (not copying) the buffers it owns; `size` is its load in bytes. */
  post(request: Request, size: number): Promise<Reply> {
    const id = this.nextId++;
    this.load += size;
    const buffers =
      request.kind === 'body'
        ? [request.body.buffer]
        : [request.data.buffer, request.offsets.buffer, request.rawKeys.buffer, request.signatures.buffer];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { size, resolve, reject });
      this.worker.postMessage({ ...request, id }, buffers as ArrayBuffer[]);
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

  /**
   * Scans a batch body for canonical measurements (canonical-scan.ts) and, if it is one, verifies
   * and hashes each: the collector's fast path, in one message, off the main thread. A body that
   * owns its whole ArrayBuffer (any request body over 4 KB: smaller ones share Node's pool) is
   * moved to the thread and back rather than copied: `body` is then unusable, and the result's
   * body is the same bytes (if the thread dies meanwhile, the request fails with a server error).
   * Copying 0.6 MB per batch into fresh memory cost the main thread more than anything else it
   * did with the body.
   */
  async scanAndVerify(body: Buffer, maxItems: number): Promise<ScanResult> {
    const movable = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const sent = movable ? body : new Uint8Array(body);
    const reply = await this.leastLoaded().post({ kind: 'body', body: sent, maxItems }, body.byteLength);
    const back = reply.body!;
    const returned = Buffer.from(back.buffer, back.byteOffset, back.byteLength);
    if (!reply.items) return { body: returned, items: null, verified: null };
    return {
      body: returned,
      items: reply.items,
      verified: { ok: [...reply.ok].map((v) => v === 1), ids: reply.ids },
    };
  }

  /** Verifies every item and hashes its bytes; rejects only if a thread fails. */
  async verify(items: readonly VerifyItem[]): Promise<VerifyResult> {
    // A batch is split only between idle threads (so that one request alone is answered sooner);
    // under load each message costs the main thread, and whole batches keep every thread busy.
    const idle = this.started().filter((w) => w.load === 0).length;
    const parts = Math.max(1, Math.min(idle, Math.floor(items.length / MIN_SPLIT)));
    const per = Math.ceil(items.length / parts);
    const replies: Promise<Reply>[] = [];
    for (let from = 0; from < items.length; from += per) {
      const slice = items.slice(from, from + per);
      const request = pack(slice);
      replies.push(this.leastLoaded().post(request, request.data.byteLength));
    }
    const ok: boolean[] = [];
    const ids: string[] = [];
    for (const reply of await Promise.all(replies)) {
      for (const v of reply.ok) ok.push(v === 1);
      ids.push(...reply.ids);
    }
    return { ok, ids };
  }

  /** The threads, started on first use (and again if one stopped). */
  private started(): VerifyWorker[] {
    if (this.closed) throw new Error('the collector is closed');
    while (this.workers.length < this.count) {
      this.workers.push(new VerifyWorker((gone) => this.workers.splice(this.workers.indexOf(gone) >>> 0, 1)));
    }
    return this.workers;
  }

  /** The thread with the fewest bytes in flight. */
  private leastLoaded(): VerifyWorker {
    return this.started().reduce((a, b) => (b.load < a.load ? b : a));
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

/** The items' bytes, keys and signatures in fresh buffers, moved (not copied) to the thread. */
function pack(items: readonly VerifyItem[]): Extract<Request, { kind: 'items' }> {
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
  return { kind: 'items', count: items.length, data, offsets, rawKeys, signatures };
}
