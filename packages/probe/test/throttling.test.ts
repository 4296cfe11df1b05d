/**
 * measureThrottling and runThrottling end to end on loopback: a server that slows itself down for
 * one server name (SNI over TLS, Host over plain HTTP) stands in for a censor's throttle, so the
 * measurement, the control's certificate handling, the data budget and the baseline are exercised
 * without root. The lab test (packages/lab/test/throttle.test.ts) does the same against real
 * kernel throttling.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASELINE_FILE,
  compareBaseline,
  measureThrottling,
  runThrottling,
  targetURL,
  thinProgress,
  throttlingCheck,
} from '../src/experiments/throttling/index.js';
import {
  makePKI,
  type PKI,
  type Running,
  refusedPort,
  startHTTP,
  startHTTPS,
  startSilent,
} from './net-fixtures.js';

const SLOW_NAME = 'slow.test';
const FAST_NAME = 'fast.test';
const SIZE = 256 * 1024;

/**
 * Serves SIZE bytes; requests that came with SLOW_NAME (as SNI, or as Host over plain HTTP) get
 * 4 KiB every 40 ms (about 800 kbit/s), everything else at loopback speed.
 */
function handler(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket as Partial<TLSSocket>;
  const name = socket.encrypted ? socket.servername : req.headers.host?.split(':')[0];
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': SIZE });
  if (name !== SLOW_NAME) {
    res.end(Buffer.alloc(SIZE, 120));
    return;
  }
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed || sent >= SIZE) {
      clearInterval(timer);
      if (!res.destroyed) res.end();
      return;
    }
    const n = Math.min(4096, SIZE - sent);
    sent += n;
    res.write(Buffer.alloc(n, 120));
  }, 40);
  res.on('close', () => clearInterval(timer));
}

let pki: PKI;
let https: Running;
let http: Running;
let stateDir: string;

beforeAll(async () => {
  pki = makePKI([SLOW_NAME, FAST_NAME]);
  https = await startHTTPS(pki.valid, handler);
  http = await startHTTP(handler);
  stateDir = mkdtempSync(path.join(tmpdir(), 'pharos-throttling-'));
});

afterAll(async () => {
  await https?.close();
  await http?.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const quick = { repeats: 2, maxBytes: 128 * 1024, maxSeconds: 0.8 };

describe('measureThrottling over TLS (paired SNI)', () => {
  it('finds a name the server slows down throttled, with tls.throttle.sni', async () => {
    const r = await measureThrottling(
      { host: SLOW_NAME, port: https.port, address: '127.0.0.1' },
      { ...quick, extraCA: [pki.ca] },
    );
    expect(r.verdict).toBe('throttled');
    expect(r.mechanism).toBe('tls.throttle.sni');
    const k = r.keys;
    expect(k).toMatchObject({ method: 'paired-sni', decision: 'throttled', pairs_measured: 2 });
    expect(k.ratio).toBeLessThan(0.3);
    expect(k.p_value).toBeLessThan(0.01);
    expect(k.target.server_name).toBe(SLOW_NAME);
    expect(k.control.server_name).toBe('www.example.com');
    // The control accepts any certificate; it records that this one is valid and names the target.
    expect(k.control.certificate).toEqual({ valid_chain: true, names_target: true });
    const t = k.target.transfers[0]!;
    expect(t.timed_out).toBe(true); // the time bound ended it after progress
    expect(t.bytes).toBeGreaterThan(0);
    expect(t.slices_kbit_s).toHaveLength(10);
    expect(t.progress.length).toBeGreaterThan(2);
    expect(t.progress.length).toBeLessThanOrEqual(64);
    const c = k.control.transfers[0]!;
    expect(c.complete).toBe(true);
    expect(c.body_bytes).toBe(128 * 1024);
    // The handshakes: the target verified, the control not.
    const handshakes = r.trace.tlsHandshakes;
    expect(handshakes.find((h) => h.server_name === SLOW_NAME)).toMatchObject({
      no_tls_verify: false,
      failure: null,
    });
    expect(handshakes.find((h) => h.server_name === 'www.example.com')).toMatchObject({
      no_tls_verify: true,
      failure: null,
    });
    expect(r.bytesReceived).toBeGreaterThan(128 * 1024);
    expect(r.bytesSent).toBeGreaterThan(0);
  }, 20_000);

  it('finds a name served like any other not throttled', async () => {
    const r = await measureThrottling(
      { host: FAST_NAME, port: https.port, address: '127.0.0.1' },
      { ...quick, repeats: 3, extraCA: [pki.ca] },
    );
    expect(r.verdict).toBe('ok');
    expect(r.mechanism).toBeNull();
    expect(r.keys.decision).toBe('not_throttled');
  });

  it('stops after a pair that is plainly not throttled', async () => {
    // Loopback timings are noisy at this size: a threshold of 0 makes any answered pair "plain".
    const r = await measureThrottling(
      { host: FAST_NAME, port: https.port, address: '127.0.0.1' },
      { ...quick, repeats: 3, thresholds: { earlyStopRatio: 0 }, extraCA: [pki.ca] },
    );
    expect(r.keys).toMatchObject({ decision: 'not_throttled', early_stop: true, pairs_measured: 1 });
  });

  it('runs every pair when told not to stop early', async () => {
    const r = await measureThrottling(
      { host: FAST_NAME, port: https.port, address: '127.0.0.1' },
      { ...quick, repeats: 3, earlyStop: false, extraCA: [pki.ca] },
    );
    expect(r.keys.pairs_measured).toBe(3);
    // Pairs alternate which side goes first.
    const order = [...r.keys.target.transfers, ...r.keys.control.transfers]
      .sort((a, b) => a.t0 - b.t0)
      .map((x) => x.role[0])
      .join('');
    expect(order).toBe('tccttc');
  });

  it('leaves a target whose certificate does not verify undecided: not a question of speed', async () => {
    // Without the test CA the target's handshake fails verification; the control does not care.
    const r = await measureThrottling({ host: FAST_NAME, port: https.port, address: '127.0.0.1' }, quick);
    expect(r.keys.control.certificate).toEqual({ valid_chain: false, names_target: true });
    expect(r.keys.decision).toBe('certificate_error');
    expect(r.verdict).toBeNull();
    expect(r.mechanism).toBeNull();
  });

  it('says null when nothing answers, and does not wait for more pairs', async () => {
    const r = await measureThrottling(
      { host: FAST_NAME, port: await refusedPort(), address: '127.0.0.1' },
      { ...quick, repeats: 3 },
    );
    expect(r.verdict).toBeNull();
    expect(r.keys.decision).toBe('unreachable');
    expect(r.keys.address).toBeNull();
    expect(r.keys.target.transfers[0]!.failed_operation).toBe('connect');
  });

  it('calls a handshake that never gets an answer blocked with tls.timeout (zero progress)', async () => {
    const silent = await startSilent();
    try {
      const r = await measureThrottling(
        { host: FAST_NAME, port: silent.port, address: '127.0.0.1' },
        { ...quick, repeats: 1, timeouts: { tls: 300 } },
      );
      // The control stalls too: nothing to compare with.
      expect(r.verdict).toBeNull();
      expect(r.keys.target.transfers[0]).toMatchObject({
        failed_operation: 'tls_handshake',
        failure: 'generic_timeout_error',
        handshake_bytes_received: 0,
      });
    } finally {
      await silent.close();
    }
  });
});

describe('measureThrottling over plain HTTP (paired Host)', () => {
  it('finds a Host the server slows down throttled, with http.throttle.host', async () => {
    const r = await measureThrottling(`http://${SLOW_NAME}:${http.port}/big`, {
      ...quick,
      lookup: async () => ({ addresses: ['127.0.0.1'], failure: null }),
    });
    expect(r.verdict).toBe('throttled');
    expect(r.mechanism).toBe('http.throttle.host');
    expect(r.keys.method).toBe('paired-host');
    expect(r.trace.requests.map((t) => t.request.headers.Host)).toEqual(
      expect.arrayContaining([`${SLOW_NAME}:${http.port}`, `www.example.com:${http.port}`]),
    );
  }, 20_000);
});

describe('the data budget', () => {
  it('caps each transfer and stops when too little is left', async () => {
    let left = 200 * 1024;
    const budget = {
      remaining: () => left,
      spend: (n: number) => {
        left -= n;
      },
    };
    const r = await measureThrottling(
      { host: FAST_NAME, port: https.port, address: '127.0.0.1' },
      { ...quick, repeats: 3, earlyStop: false, maxBytes: 512 * 1024, dataBudget: budget, extraCA: [pki.ca] },
    );
    expect(r.keys.pairs_measured).toBe(1);
    expect(r.keys.reason).toMatch(/data budget/);
    expect(left).toBe(200 * 1024 - r.bytesSent - r.bytesReceived);
    expect(r.keys.target.transfers[0]!.body_bytes).toBeLessThanOrEqual(84 * 1024);
  });

  it('measures nothing without budget', async () => {
    const r = await measureThrottling(
      { host: FAST_NAME, port: https.port, address: '127.0.0.1' },
      { ...quick, dataBudget: { remaining: () => 10_000, spend: () => {} } },
    );
    expect(r.keys.decision).toBe('no_budget');
    expect(r.verdict).toBeNull();
    expect(r.bytesReceived).toBe(0);
  });
});

describe('the baseline', () => {
  it('keeps a history in the state directory and compares with its ok entries', async () => {
    const options = { ...quick, stateDir, network: 'AS64500', extraCA: [pki.ca] };
    const target = { host: FAST_NAME, port: https.port, address: '127.0.0.1' };
    for (let i = 0; i < 3; i++) await measureThrottling(target, options);
    const r = await measureThrottling(target, options);
    expect(r.keys.baseline?.entries).toBe(3);
    expect(r.keys.baseline?.target_ratio).toBeGreaterThan(0);
    const file = JSON.parse(readFileSync(path.join(stateDir, BASELINE_FILE), 'utf8'));
    expect(Object.keys(file.targets)).toEqual([`AS64500 https://${FAST_NAME}:${https.port}/`]);
    expect(file.targets[Object.keys(file.targets)[0]!]).toHaveLength(4);
  });

  it('needs three ok entries before it compares', () => {
    const entry = (kbit: number, verdict: string | null = 'ok') => ({
      time: '2026-01-01T00:00:00Z',
      target_kbit_s: kbit,
      control_kbit_s: kbit,
      verdict,
    });
    expect(compareBaseline([entry(1000), entry(1000)], 50, 50).target_ratio).toBeNull();
    const b = compareBaseline([entry(1000), entry(2000), entry(3000), entry(10, 'throttled')], 100, 2000);
    expect(b).toMatchObject({ entries: 3, target_kbit_s: 2000, target_ratio: 0.05, control_ratio: 1 });
  });
});

describe('runThrottling', () => {
  it('wraps the measurement in an OONI envelope with x_ keys and no response bodies', async () => {
    const m = await runThrottling({
      input: `https://${SLOW_NAME}:${https.port}/`,
      ...quick,
      extraCA: [pki.ca],
      lookup: async () => ({ addresses: ['127.0.0.1'], failure: null }),
      probeCC: 'AZ',
      probeASN: 'AS29049',
      annotations: { x_region: 'AZ-FUZ' },
    });
    expect(m).toMatchObject({
      test_name: 'throttling',
      input: `https://${SLOW_NAME}:${https.port}/`,
      probe_cc: 'AZ',
      annotations: { x_region: 'AZ-FUZ', engine_name: 'pharos-probe' },
    });
    expect(m.report_id).toMatch(/_throttling_AZ_29049_n1_/);
    const k = m.test_keys;
    expect(k.x_verdict).toBe('throttled');
    expect(k.x_mechanism).toBe('tls.throttle.sni');
    expect(k.x_throttling.decision).toBe('throttled');
    expect(k.x_bytes_received).toBeGreaterThan(0);
    expect(k.requests?.every((t) => t.response?.body === null)).toBe(true);
    expect(JSON.stringify(m).length).toBeLessThan(200_000);
  }, 20_000);

  it('says dns_failure when the name does not resolve', async () => {
    const m = await runThrottling({
      input: 'https://nowhere.test/',
      lookup: async () => ({ addresses: [], failure: 'dns_nxdomain_error' }),
    });
    expect(m.test_keys.x_verdict).toBeNull();
    expect(m.test_keys.x_throttling.decision).toBe('dns_failure');
    expect(m.test_keys.x_bytes_received).toBe(0);
  });
});

describe("throttlingCheck (the app and platform experiments' hook)", () => {
  it('measures the endpoint on the address that answered and says throttled true/false', async () => {
    const check = throttlingCheck(quick);
    const slow = await check(
      { url: `https://${SLOW_NAME}:${https.port}/`, address: '127.0.0.1' },
      { extraCA: [pki.ca] },
    );
    expect(slow).toMatchObject({ throttled: true, mechanism: 'tls.throttle.sni' });
    expect(slow.testKeys.decision).toBe('throttled');
    expect(slow.bytesReceived).toBeGreaterThan(0);
    const fast = await check(
      { url: `https://${FAST_NAME}:${https.port}/`, address: '127.0.0.1' },
      { extraCA: [pki.ca] },
    );
    expect(fast).toMatchObject({ throttled: false, mechanism: null });
  }, 20_000);
});

describe('helpers', () => {
  it('builds target URLs', () => {
    expect(targetURL({ host: 'x.example' }).href).toBe('https://x.example/');
    expect(targetURL({ host: 'x.example', scheme: 'http', port: 8080, path: 'a/b' }).href).toBe(
      'http://x.example:8080/a/b',
    );
    expect(() => targetURL('ftp://x.example/')).toThrow(/http/);
  });

  it('thins progress to 64 points, keeping the first and the last', () => {
    const points = Array.from({ length: 1000 }, (_, i): [number, number] => [i, i * 10]);
    const thin = thinProgress(points);
    expect(thin).toHaveLength(64);
    expect(thin[0]).toEqual([0, 0]);
    expect(thin.at(-1)).toEqual([999, 9990]);
  });
});
