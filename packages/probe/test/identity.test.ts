/**
 * The probe's identity: a key made once and kept private, and signatures that anyone can check
 * with a stock Ed25519 implementation over the RFC 8785 bytes of the measurement.
 */
import { createHash, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalJSON } from '@pharos/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateProbeKey, ProbeKeyError, readProbeKey } from '../src/identity/probe-key.js';
import { measurementId, signMeasurement } from '../src/identity/sign.js';
import { ensureStateDirs, resolveStateDir, stateLayout } from '../src/identity/state-dir.js';
import { sampleMeasurement } from './upload-fake-collector.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pharos-identity-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function freshLayout() {
  const layout = stateLayout(path.join(root, 'nested', 'state'));
  await ensureStateDirs(layout);
  return layout;
}

describe('the state directory', () => {
  it('is --state-dir, else PHAROS_PROBE_STATE, else XDG_STATE_HOME/pharos-probe, else ~/.local/state', () => {
    const env = { PHAROS_PROBE_STATE: '/env/state', XDG_STATE_HOME: '/xdg', HOME: '/home/v' };
    expect(resolveStateDir('rel/dir', env, '/cwd')).toBe('/cwd/rel/dir');
    expect(resolveStateDir(undefined, env, '/cwd')).toBe('/env/state');
    expect(resolveStateDir(undefined, { XDG_STATE_HOME: '/xdg', HOME: '/home/v' }, '/cwd')).toBe(
      '/xdg/pharos-probe',
    );
    expect(resolveStateDir(undefined, { HOME: '/home/v' }, '/cwd')).toBe('/home/v/.local/state/pharos-probe');
    // XDG: a relative XDG_STATE_HOME is invalid and ignored.
    expect(resolveStateDir(undefined, { XDG_STATE_HOME: 'xdg', HOME: '/home/v' }, '/cwd')).toBe(
      '/home/v/.local/state/pharos-probe',
    );
  });

  it('is created private to the user (0700)', async () => {
    const layout = await freshLayout();
    for (const dir of [layout.dir, layout.outbox, layout.failed]) {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
  });
});

describe('the probe key', () => {
  it('is created on first use as probe.key (0600, PKCS#8) and probe.pub (SPKI), then reused', async () => {
    const layout = await freshLayout();
    expect(await readProbeKey(layout)).toBeNull();
    const first = await loadOrCreateProbeKey(layout);
    expect(first.created).toBe(true);
    expect((await stat(layout.key)).mode & 0o777).toBe(0o600);
    const pem = await readFile(layout.key, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(pem).asymmetricKeyType).toBe('ed25519');
    const pub = createPublicKey(await readFile(layout.pub, 'utf8'));
    const raw = Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url');
    expect(raw.toString('base64')).toBe(first.key.publicKeyBase64);
    expect(first.key.fingerprint).toBe(createHash('sha256').update(raw).digest('hex'));

    const second = await loadOrCreateProbeKey(layout);
    expect(second.created).toBe(false);
    expect(second.key.fingerprint).toBe(first.key.fingerprint);
  });

  it('is one key when several processes start at once', async () => {
    const layout = await freshLayout();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateProbeKey(layout)));
    expect(new Set(keys.map((k) => k.key.fingerprint)).size).toBe(1);
    expect(keys.filter((k) => k.created)).toHaveLength(1);
  });

  it('is refused, with the fix, when others can read it', async () => {
    const layout = await freshLayout();
    await loadOrCreateProbeKey(layout);
    await chmod(layout.key, 0o644);
    const error = await loadOrCreateProbeKey(layout).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProbeKeyError);
    expect((error as Error).message).toContain(`${layout.key} can be read by other users (mode 0644)`);
    expect((error as Error).message).toContain(`chmod 600 ${layout.key}`);
    await chmod(layout.key, 0o640);
    await expect(readProbeKey(layout)).rejects.toThrow(/mode 0640/);
  });

  it('rewrites a missing probe.pub from the key', async () => {
    const layout = await freshLayout();
    await loadOrCreateProbeKey(layout);
    const pub = await readFile(layout.pub, 'utf8');
    await rm(layout.pub);
    await loadOrCreateProbeKey(layout);
    expect(await readFile(layout.pub, 'utf8')).toBe(pub);
  });
});

describe('signed measurements', () => {
  it('are signed over the JCS bytes, verifiable with node:crypto, and named by their SHA-256', async () => {
    const layout = await freshLayout();
    const { key } = await loadOrCreateProbeKey(layout);
    // Members out of order, a non-ASCII string and a number JCS writes its own way.
    const measurement = { ...sampleMeasurement(1), z: 'Füzuli ✓', a: 1e21, m: [3, { b: 2, a: 1 }] };
    const signed = signMeasurement(measurement, key);
    const jcs = Buffer.from(canonicalJSON(measurement), 'utf8');
    expect(jcs.toString('utf8')).toContain('"a":1e+21');
    expect(jcs.toString('utf8')).toContain('"m":[3,{"a":1,"b":2}]');

    const publicKey = createPublicKey(await readFile(layout.pub, 'utf8'));
    const signature = Buffer.from(signed.item.signature, 'base64');
    expect(signature).toHaveLength(64);
    expect(verify(null, jcs, publicKey, signature)).toBe(true);
    // Over any other spelling of the same JSON it does not verify: the bytes are the contract.
    expect(verify(null, Buffer.from(JSON.stringify(measurement)), publicKey, signature)).toBe(false);
    expect(signed.id).toBe(createHash('sha256').update(jcs).digest('hex'));
    expect(signed.item.probe_key).toBe(key.publicKeyBase64);
    expect(signed.item.measurement).toEqual(measurement);
    // Carried in canonical member order: what travels is the signed text itself.
    expect(JSON.stringify(signed.item.measurement)).toBe(jcs.toString('utf8'));
  });

  it('give a measurement the same id as its JSONL line, so a later submit of the file is a duplicate', async () => {
    const { key } = await loadOrCreateProbeKey(await freshLayout());
    // Our measurements may hold undefined members; JSON (the JSONL file, the wire) drops them.
    const measurement = { ...sampleMeasurement(2), x_note: undefined };
    const signed = signMeasurement(measurement, key);
    const line = JSON.stringify(measurement);
    expect(signed.id).toBe(measurementId(JSON.parse(line)));
    expect('x_note' in signed.item.measurement).toBe(false);
  });

  it('refuse what JSON cannot carry instead of signing something else', async () => {
    const { key } = await loadOrCreateProbeKey(await freshLayout());
    expect(() => signMeasurement({ ...sampleMeasurement(3), bad: '\ud800' }, key)).toThrow(/lone surrogate/);
    expect(() => signMeasurement([1, 2], key)).toThrow(/JSON object/);
  });
});
