/**
 * Several probes on real kernel networking (issue 5): each in its own namespace behind the ISP
 * router, a cut scoped to one of them leaving the others up, its DNS going dark with it, and a
 * probe's link going down and coming back (churn). Needs root, like the other world tests.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLab, type LabHandle } from '../src/world/index.js';
import { labDescribe } from './support/lab-available.js';

const suite = await labDescribe('the multi-probe lab tests');

/** One TCP connect (or a lookup through the ISP resolver) from inside a namespace: one JSON line out. */
const CLIENT = `
import dns from 'node:dns';
import net from 'node:net';
const cmd = JSON.parse(process.argv[2]);
const out = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
setTimeout(() => out({ error: 'timeout' }), 1500).unref();
if (cmd.op === 'connect') {
  const s = net.connect({ host: cmd.address, port: cmd.port }, () => out({ ok: true }));
  s.on('error', (e) => out({ error: e.code }));
}
if (cmd.op === 'lookup')
  dns.lookup(cmd.host, { family: 4 }, (e, a) => out(e ? { error: e.code } : { address: a }));
`;

suite('a lab with several probes', () => {
  let dir: string;
  let lab: LabHandle;
  let client: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pharos-probes-'));
    client = join(dir, 'client.mjs');
    writeFileSync(client, CLIENT);
    lab = await createLab({
      sites: [],
      censor: [],
      workDir: dir,
      standIns: false,
      probes: ['fuz', 'ba', 'ga'],
    });
  }, 60_000);

  afterAll(async () => {
    await lab?.teardown();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (probe: string, cmd: object) => {
    const run = await lab.runInProbe(probe, [process.execPath, client, JSON.stringify(cmd)]);
    return JSON.parse(run.stdout || JSON.stringify({ stderr: run.stderr }));
  };
  const web = () => ({ op: 'connect', address: lab.addresses.sites['www.example.com']![0], port: 443 });
  const lookup = { op: 'lookup', host: 'www.example.com' };

  it('gives every probe its own address and a way out', async () => {
    expect(Object.values(lab.addresses.probes)).toHaveLength(3);
    for (const probe of ['fuz', 'ba', 'ga']) {
      expect(await ask(probe, web())).toEqual({ ok: true });
      expect(await ask(probe, lookup)).toEqual({ address: lab.addresses.sites['www.example.com']![0] });
    }
  });

  it('cuts off only the probe a rule is scoped to, its resolver included, until lifted', async () => {
    await lab.applyCensor([
      { match: { kind: 'all' }, action: { kind: 'drop' }, via: 'resolver', probes: ['fuz'] },
    ]);
    expect(await ask('fuz', web())).toEqual({ error: 'timeout' });
    expect((await ask('fuz', lookup)).error).toBeDefined();
    expect(await ask('ba', web())).toEqual({ ok: true });
    expect(await ask('ga', lookup)).toEqual({ address: lab.addresses.sites['www.example.com']![0] });
    await lab.applyCensor([]);
    expect(await ask('fuz', web())).toEqual({ ok: true });
  });

  it('takes a probe offline and brings it back', async () => {
    await lab.setProbeOnline('ga', false);
    expect((await ask('ga', web())).ok).toBeUndefined();
    expect(await ask('ba', web())).toEqual({ ok: true });
    await lab.setProbeOnline('ga', true);
    expect(await ask('ga', web())).toEqual({ ok: true });
  });
});
