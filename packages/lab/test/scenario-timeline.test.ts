/** Timeline scenarios (docs/lab.md, "Timelines"): probes, scoped rules, timeline, churn, incidents. */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../src/scenario.js';
import { loadScenarios, suiteFiles } from '../src/suite.js';

const GOOD = `name: region-cut
description: one ISP's region goes dark
probes:
  - { name: d1, cc: AZ, asn: 29049, region: AZ-FUZ }
  - { name: d2, cc: AZ, asn: 29049, region: AZ-BA }
  - { name: a1, cc: AZ, asn: 31721, region: AZ-FUZ, experiments: [whatsapp] }
timeline:
  - at: 30s
    censor:
      - { name: cut, match: { all: true }, action: drop, asn: 29049, region: AZ-FUZ }
  - { at: 2m, lift: [cut] }
incidents:
  - entity: asn:29049+region:AZ-FUZ
    type: Shutdown
    extent: Full network
    opened_within: 2 intervals
    closed_within: 15s
`;

function errorOf(text: string): ScenarioError {
  try {
    parseScenario(text, 'scenario.yaml');
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('expected a ScenarioError');
}

describe('timeline scenarios', () => {
  it('resolves scopes to probes, times to seconds and entities to their canonical order', () => {
    const s = parseScenario(GOOD, 'scenario.yaml');
    const o = s.observatory!;
    expect(o.probes.map((p) => [p.name, p.asn, p.region, p.experiments])).toEqual([
      ['d1', 29049, 'AZ-FUZ', []],
      ['d2', 29049, 'AZ-BA', []],
      ['a1', 31721, 'AZ-FUZ', ['whatsapp']],
    ]);
    expect(o.timeline).toEqual([
      {
        at: 30,
        censor: [
          { match: { kind: 'all' }, action: { kind: 'drop' }, via: 'resolver', name: 'cut', probes: ['d1'] },
        ],
        lift: [],
      },
      { at: 120, censor: [], lift: ['cut'] },
    ]);
    // Defaults: a 5 s beacon interval, and a minute after the last step.
    expect(o.interval).toBe(5);
    expect(o.duration).toBe(180);
    expect(o.incidents).toEqual([
      {
        entity: 'region:AZ-FUZ+asn:29049',
        type: 'Shutdown',
        extent: 'Full network',
        openedWithin: 10,
        closedWithin: 15,
        cutAt: 30,
        restoreAt: 120,
      },
    ]);
    // Code that reads one probe sees the first; there are no per-measurement verdicts.
    expect(s.probe).toMatchObject({ cc: 'AZ', asn: 29049 });
    expect(s.expect).toEqual([]);
  });

  it('takes lift: all, lists of ASNs or regions, churn and "incidents: []"', () => {
    const s = parseScenario(
      `name: q
description: d
probes:
  - { name: p1, cc: AZ, asn: 1, region: AZ-BA }
  - { name: p2, cc: AZ, asn: 2, region: AZ-GA }
  - { name: p3, cc: AZ, asn: 3, region: AZ-SM }
censor:
  - { match: { sni: web.whatsapp.com }, action: drop, asn: [1, 3] }
timeline:
  - { at: 10, censor: [{ match: { all: true }, action: drop, region: [AZ-GA] }] }
  - { at: 20s, lift: all }
churn: { probes: 1, offline: 5s, every: 30s }
duration: 1.5m
interval: 10s
incidents: []
`,
      'q.yaml',
    );
    expect(s.censor[0]!.probes).toEqual(['p1', 'p3']);
    expect(s.observatory!.timeline[0]!.censor[0]!.probes).toEqual(['p2']);
    expect(s.observatory!.timeline[1]!.lift).toBe('all');
    expect(s.observatory!.churn).toMatchObject({ probes: 1, offline: 5, every: 30 });
    expect(s.observatory!.duration).toBe(90);
    expect(s.observatory!.incidents).toEqual([]);
  });

  it('names the file, line and key of each mistake', () => {
    const cases: [string, string, RegExp][] = [
      [
        GOOD.replace('asn: 29049, region: AZ-FUZ }\n  - { at', 'asn: 9, region: AZ-FUZ }\n  - { at'),
        '',
        /scenario\.yaml:10: timeline\[0\]\.censor\[0\]\.asn: no probe of probes: is in this scope/,
      ],
      [
        GOOD.replace('lift: [cut]', 'lift: [cutt]'),
        '',
        /scenario\.yaml:11: timeline\[1\]\.lift\[0\]: no rule is named cutt/,
      ],
      [
        GOOD.replace('at: 2m', 'at: 10s'),
        '',
        /scenario\.yaml:11: timeline\[1\]\.at: the timeline must be in time order/,
      ],
      [
        GOOD.replace('region: AZ-BA }', 'region: GE-TB }'),
        '',
        /scenario\.yaml:5: probes\[1\]\.region: GE-TB is not in AZ/,
      ],
      [
        GOOD.replace('closed_within: 15s', 'closed_within: soon'),
        '',
        /scenario\.yaml:17: incidents\[0\]\.closed_within: a duration/,
      ],
      [
        GOOD.replace('entity: asn:29049', 'entity: town:29049'),
        '',
        /incidents\[0\]\.entity: "town:29049": the type is one of/,
      ],
      [`${GOOD}probe: { cc: AZ }\n`, '', /scenario\.yaml:18: probe: give probe: or probes:, not both/],
      [
        GOOD.replace('    censor:\n', '    censsor:\n'),
        '',
        /scenario\.yaml:9: timeline\[0\]\.censsor: unknown key/,
      ],
      [
        `${GOOD}churn: { probes: 3, offline: 5s, every: 10s }\n`,
        '',
        /churn\.probes: must be fewer than the 3 probes/,
      ],
      [
        `${GOOD}churn: { probes: 1, offline: 5s, every: 5s }\n`,
        '',
        /churn\.every: must be longer than offline/,
      ],
      [`${GOOD}duration: 1m\n`, '', /duration: must be longer than the last timeline entry \(120s\)/],
    ];
    for (const [text, , pattern] of cases) expect(errorOf(text).message).toMatch(pattern);
  });

  it('keeps scopes and timelines to scenarios with probes', () => {
    expect(
      errorOf(`name: x
description: y
censor:
  - { match: { all: true }, action: drop, asn: 29049 }
probe: { inputs: [https://a.example/] }
expect: [{ input: https://a.example/, blocking: false }]
`).message,
    ).toMatch(/^scenario\.yaml:4: censor\[0\]\.asn: scopes a rule among probes:/);
    expect(
      errorOf(`name: x
description: y
probe: { inputs: [https://a.example/] }
expect: [{ input: https://a.example/, blocking: false }]
timeline: []
`).message,
    ).toMatch(/^scenario\.yaml:5: timeline: goes with probes:/);
  });

  it('says which closing a cut without a lift cannot have', () => {
    const noLift = GOOD.replace('  - { at: 2m, lift: [cut] }\n', '');
    expect(errorOf(noLift).message).toMatch(
      /incidents\[0\]\.closed_within: no later timeline entry lifts the cut/,
    );
  });

  it('the suite has the four timeline scenarios, each short enough for CI', async () => {
    const specs = (await loadScenarios(await suiteFiles())).filter((s) => s.observatory);
    expect(specs.map((s) => s.name).sort()).toEqual([
      'timeline-national-blackout',
      'timeline-quiet-churn',
      'timeline-region-cut',
      'timeline-whatsapp-two-asns',
    ]);
    for (const s of specs) expect(s.observatory!.duration).toBeLessThanOrEqual(240);
  });
});
