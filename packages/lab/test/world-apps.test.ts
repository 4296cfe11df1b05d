/**
 * The app and platform experiments against the lab's stand-ins, under each apps-*.yaml scenario's
 * censor: one lab, its rules replaced per scenario, the compiled experiments run inside the client
 * namespace by a small script, their verdicts compared with the scenario's expectations the way
 * the runner compares them. Needs root and ip/nft/iptables/tc (skipped otherwise, with a warning;
 * under CI=true a missing prerequisite fails) and the compiled packages (npx tsc -b packages/lab).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareVerdict, verdictOf } from '../src/compare.js';
import { loadScenario } from '../src/scenario.js';
import type { ScenarioSpec } from '../src/spec.js';
import { createLab, type LabHandle } from '../src/world/index.js';
import { labDescribe } from './support/lab-available.js';

const suite = await labDescribe('the lab apps tests');

const SCENARIOS = fileURLToPath(new URL('../scenarios/', import.meta.url));
const PROBE_DIST = fileURLToPath(new URL('../../probe/dist/', import.meta.url));
const files = readdirSync(SCENARIOS)
  .filter((f) => /^apps-.*\.ya?ml$/.test(f))
  .sort();

/** Runs one experiment (or Web Connectivity on one input) and prints its measurement. */
const RUNNER = `
const [kind, name, optionsJSON] = process.argv.slice(2);
const options = JSON.parse(optionsJSON);
let m;
if (kind === 'app') {
  const { APP_EXPERIMENTS } = await import(${JSON.stringify(`${PROBE_DIST}experiments/apps/index.js`)});
  m = await APP_EXPERIMENTS[name].run(options);
} else {
  const { measureWebConnectivity } = await import(${JSON.stringify(`${PROBE_DIST}index.js`)});
  m = await measureWebConnectivity(name, options);
}
process.stdout.write(JSON.stringify(m));
`;

/** Short timeouts: a dropped packet costs 3 s here, not 10. */
const TIMEOUTS = { dns: 2000, connect: 3000, tls: 3000, http: 5000, control: 10_000 };

suite('app and platform experiments in the lab', () => {
  let lab: LabHandle;
  let workDir: string;
  let runner: string;
  let specs: ScenarioSpec[];

  beforeAll(async () => {
    specs = await Promise.all(files.map((f) => loadScenario(join(SCENARIOS, f))));
    workDir = mkdtempSync(join(tmpdir(), 'pharos-world-apps-'));
    runner = join(workDir, 'run.mjs');
    writeFileSync(runner, RUNNER);
    lab = await createLab({ sites: [], censor: [], workDir: join(workDir, 'lab') });
  }, 60_000);

  afterAll(async () => {
    await lab?.teardown();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  function probeOptions(spec: ScenarioSpec): Record<string, unknown> {
    const args = lab.probeNetworkArgs;
    const value = (flag: string) => args[args.indexOf(flag) + 1];
    return {
      testHelpers: [value('--th')],
      publicResolver: value('--resolver'),
      dohURL: value('--doh'),
      extraCA: [readFileSync(lab.caCertFile, 'utf8')],
      catalog: lab.catalogFile,
      asnTable: lab.asnTableFile,
      probeCC: spec.probe.cc,
      probeASN: `AS${spec.probe.asn}`,
      timeouts: TIMEOUTS,
    };
  }

  async function measure(kind: 'app' | 'web', name: string, options: Record<string, unknown>) {
    const result = await lab.runInClient([process.execPath, runner, kind, name, JSON.stringify(options)], {
      timeoutMs: 90_000,
    });
    if (result.code !== 0) throw new Error(`${name}: exit ${result.code}: ${result.stderr.slice(-2000)}`);
    return JSON.parse(result.stdout) as {
      test_name: string;
      input: string | null;
      test_keys: Record<string, unknown>;
    };
  }

  it('has a scenario file for each case of the issue', () => {
    expect(files).toEqual([
      'apps-messenger-dns.yaml',
      'apps-messenger-ok.yaml',
      'apps-platforms-ok.yaml',
      'apps-signal-ok.yaml',
      'apps-signal-sni.yaml',
      'apps-telegram-dc-drop.yaml',
      'apps-telegram-ok.yaml',
      'apps-tiktok-2022.yaml',
      'apps-whatsapp-2020.yaml',
      'apps-whatsapp-ok.yaml',
    ]);
    expect(lab.appProbeArgs).toEqual(['--catalog', lab.catalogFile, '--asn-table', lab.asnTableFile]);
  });

  it.each(files)(
    '%s',
    async (file) => {
      const spec = specs.find((s) => s.file.endsWith(file))!;
      expect(spec.sites, 'these scenarios use the default internet only').toEqual([]);
      await lab.applyCensor(spec.censor);
      const options = probeOptions(spec);
      const jobs = spec.expect.map((e) =>
        e.experiment === 'web_connectivity'
          ? measure('web', e.input!, options)
          : measure('app', e.experiment, options),
      );
      const measurements = await Promise.all(jobs);
      spec.expect.forEach((e, i) => {
        const m = measurements[i]!;
        expect(m.test_name).toBe(e.experiment);
        const { pass, expected, got } = compareVerdict(e, verdictOf(m));
        const detail = JSON.stringify(
          { expected, got, failed: m.test_keys.x_failed_endpoints, endpoints: m.test_keys.x_endpoints },
          null,
          1,
        );
        expect(pass, `${spec.name} ${e.experiment} ${e.input ?? ''}: ${detail}`).toBe(true);
      });
    },
    120_000,
  );
});
