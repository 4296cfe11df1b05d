/**
 * The throttling scenarios (scenarios/throttle-*.yaml) proven in the real lab: kernel throttling
 * (htb by SNI, htb for all traffic), random loss (nft numgen) and a slow site (htb on the internet
 * side), with the compiled `throttling` experiment run inside the client namespace. Until the
 * scenario runner judges `{experiment, verdict}` expectations, this test does: it reads the files
 * with the scenario parser, builds one lab with every site, applies each scenario's censor in turn and
 * compares the experiment's `x_verdict` and `x_mechanism`.
 *
 * Needs root and ip/nft/iptables/tc (skipped with a warning otherwise; under CI a missing
 * prerequisite fails the run), the compiled lab and probe (npx tsc -b packages/lab).
 * Transfers are bounded (256 KiB or 2 s) to keep the whole file well under a minute or two.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THROTTLING_CLIENT, throttleScenarios } from '../src/bench/apps-bench.js';
import type { SiteSpec } from '../src/spec.js';
import { cleanupStaleLabs, createLab, type LabHandle } from '../src/world/index.js';
import { labDescribe } from './support/lab-available.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXPERIMENT = path.resolve(here, '..', '..', 'probe', 'dist', 'experiments', 'throttling', 'index.js');

const suite = await labDescribe('the lab throttling tests');

const scenarios = await throttleScenarios();

/** JSON with sorted keys: the two readers may order a site's fields differently. */
const canonical = (site: SiteSpec) =>
  JSON.stringify(Object.fromEntries(Object.entries(site).sort(([a], [b]) => a.localeCompare(b))));

const OPTIONS = { repeats: 3, maxBytes: 256 * 1024, maxSeconds: 2, probeCC: 'AZ', probeASN: 'AS29049' };

describe('the throttle scenario files', () => {
  it('are read: two throttled cases and three negative controls', () => {
    expect(scenarios.map((s) => s.name)).toEqual([
      'throttle-instagram-tenth',
      'throttle-neg-congested',
      'throttle-neg-lossy',
      'throttle-neg-slow-site',
      'throttle-x-sni',
    ]);
    for (const s of scenarios) expect(s.expect.length).toBeGreaterThan(0);
    expect(scenarios.find((s) => s.name === 'throttle-neg-lossy')!.censor[0]!.action).toEqual({
      kind: 'loss',
      percent: 2,
    });
    expect(scenarios.find((s) => s.name === 'throttle-neg-slow-site')!.sites[0]!.rate).toBe('1mbit');
  });
});

suite('throttling in the lab (real kernel throttling)', () => {
  let lab: LabHandle;
  let workDir: string;
  let client: string;

  beforeAll(async () => {
    if (!existsSync(EXPERIMENT))
      throw new Error(`${EXPERIMENT} is missing: build first (npx tsc -b packages/lab)`);
    await cleanupStaleLabs();
    workDir = mkdtempSync(join(tmpdir(), 'pharos-throttle-'));
    client = join(workDir, 'throttling-client.mjs');
    writeFileSync(client, THROTTLING_CLIENT);
    // One lab for every scenario: the union of their sites (the same host must mean the same site).
    const sites = new Map<string, SiteSpec>();
    for (const s of scenarios)
      for (const site of s.sites) {
        const seen = sites.get(site.host);
        if (seen && canonical(seen) !== canonical(site))
          throw new Error(`${site.host} differs between scenarios`);
        sites.set(site.host, site);
      }
    lab = await createLab({ sites: [...sites.values()], censor: [], workDir, standIns: false });
  }, 60_000);

  afterAll(async () => {
    await lab?.teardown();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  interface Side {
    goodput_kbit_s: number | null;
  }
  interface Measurement {
    test_name: string;
    test_keys: {
      x_verdict: string | null;
      x_mechanism: string | null;
      x_bytes_received: number;
      x_throttling: {
        decision: string;
        reason: string;
        timeouts_after_progress: number;
        target: Side;
        control: Side;
      };
    };
  }

  async function measure(input: string): Promise<Measurement> {
    const result = await lab.runInClient(
      [process.execPath, client, EXPERIMENT, JSON.stringify({ ...OPTIONS, input, ca: lab.caCertFile })],
      { timeoutMs: 90_000 },
    );
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout);
  }

  for (const scenario of scenarios) {
    for (const e of scenario.expect) {
      it(`${scenario.name}: ${e.input} is ${e.verdict}`, async () => {
        await lab.applyCensor(scenario.censor);
        const m = await measure(e.input);
        const k = m.test_keys;
        const summary = `${k.x_throttling.decision}: ${k.x_throttling.reason}`;
        expect(m.test_name).toBe('throttling');
        expect(k.x_verdict, summary).toBe(e.verdict);
        if (e.mechanism !== undefined) expect(k.x_mechanism, summary).toBe(e.mechanism);
        expect(k.x_bytes_received).toBeGreaterThan(0);
        if (scenario.name === 'throttle-x-sni') {
          // Shaped to 130 kbit/s: the target's goodput is at most that, the control's far above.
          expect(k.x_throttling.target.goodput_kbit_s).toBeLessThan(140);
          expect(k.x_throttling.control.goodput_kbit_s).toBeGreaterThan(10_000);
          expect(k.x_throttling.timeouts_after_progress).toBeGreaterThan(0);
        }
        if (scenario.name === 'throttle-neg-slow-site') {
          // The site's own 1 mbit/s uplink, for target and control alike.
          for (const side of [k.x_throttling.target, k.x_throttling.control])
            expect(side.goodput_kbit_s).toBeLessThan(1500); // htb's burst lets a little more through
        }
      }, 120_000);
    }
  }

  it('drops per TCP segment while a loss rule is active (offloads off), and restores them after', async () => {
    const segs = async (ns: string, dev: string) => {
      const { stdout } = await lab.runInClient(['ip', '-n', ns, '-d', 'link', 'show', dev]);
      return Number(/gso_max_segs (\d+)/.exec(stdout)?.[1]);
    };
    await lab.applyCensor([
      { match: { kind: 'all' }, action: { kind: 'loss', percent: 2 }, via: 'resolver' },
    ]);
    expect(await segs(lab.namespaces.client, 'c0')).toBe(1);
    expect(await segs(lab.namespaces.internet, 'n0')).toBe(1);
    await lab.applyCensor([]);
    expect(await segs(lab.namespaces.client, 'c0')).toBe(65535);
    expect(await segs(lab.namespaces.internet, 'n0')).toBe(65535);
  });
});
