/**
 * The whole scenario suite in the real lab: every verdict the probe reaches inside the lab must be
 * the one its scenario states, and in timeline scenarios the observatory running inside the lab must
 * open (and close) the incidents the scenario states and no other. Needs root (namespaces, nftables); outside CI a non-root run skips
 * with a message, under CI it fails.
 */
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { ScenarioResult } from '../../src/runner.js';
import { runScenarios } from '../../src/runner.js';
import { loadScenarios, suiteFiles } from '../../src/suite.js';
import { cleanupStaleLabs } from '../../src/world/index.js';
import { labDescribe } from '../support/lab-available.js';

const suite = await labDescribe('the lab suite');

const specs = await loadScenarios(await suiteFiles());
const outDir = path.resolve('lab-results', `suite-${new Date().toISOString().replace(/[-:.]/g, '')}`);

suite('lab scenario suite', () => {
  const byScenario = new Map<string, ScenarioResult>();

  beforeAll(async () => {
    await cleanupStaleLabs();
    const results = await runScenarios(specs, {
      outDir,
      jobs: 3,
      onResult: (r) =>
        console.log(
          `[lab] ${r.scenario}: ${r.results.filter((x) => x.pass).length}/${r.results.length} (${r.seconds.toFixed(1)} s)`,
        ),
    });
    for (const r of results) byScenario.set(r.scenario, r);
  }, 1_800_000);

  for (const spec of specs) {
    if (spec.observatory) {
      // A timeline scenario: the incidents the observatory opened, each expected one in time and
      // nothing else (docs/lab.md, "Timelines").
      it(`${spec.name}: incidents`, () => {
        const r = byScenario.get(spec.name);
        expect(r, 'the scenario did not run').toBeDefined();
        const failed = r!.results
          .filter((x) => !x.pass)
          .map((x) => `${x.input}: ${x.error ?? 'did not hold'}`);
        expect(failed, `record: ${r!.results[0]?.measurement}`).toEqual([]);
      });
      continue;
    }
    for (const e of spec.expect) {
      const what =
        e.experiment === 'web_connectivity' ? e.input : [e.experiment, e.input].filter(Boolean).join(' ');
      it(`${spec.name}: ${what}`, () => {
        const r = byScenario
          .get(spec.name)
          ?.results.find((x) => x.experiment === e.experiment && x.input === e.input);
        expect(r, 'the scenario did not run').toBeDefined();
        expect(r!.error ?? null, `no verdict (measurement: ${r!.measurement})`).toBeNull();
        expect(r!.got).toEqual(r!.expected);
      });
    }
  }
});
