import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../src/scenario.js';
import { loadScenarios, suiteFiles } from '../src/suite.js';

const GOOD = `name: tls-sni-drop
description: SNI-triggered drop right after the ClientHello
sites:
  - host: news.example.az
    http: true
    https: true
censor:
  - { match: { sni: news.example.az }, action: drop }
probe:
  cc: AZ
  asn: 29049
  inputs: [https://news.example.az/]
expect:
  - input: https://news.example.az/
    blocking: http-failure
    accessible: false
    mechanism: tls.timeout
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

describe('scenario files', () => {
  it('reads the contract example with every default filled in', () => {
    const s = parseScenario(GOOD, 'scenario.yaml');
    expect(s.name).toBe('tls-sni-drop');
    expect(s.sites[0]).toMatchObject({
      host: 'news.example.az',
      status: 200,
      addresses: 1,
      cert: 'valid',
      dns: 'ok',
    });
    expect(s.censor).toEqual([
      { match: { kind: 'sni', name: 'news.example.az' }, action: { kind: 'drop' }, via: 'resolver' },
    ]);
    expect(s.probe).toMatchObject({ cc: 'AZ', asn: 29049, experiments: ['web_connectivity'] });
    expect(s.expect[0]).toEqual({
      experiment: 'web_connectivity',
      input: 'https://news.example.az/',
      blocking: 'http-failure',
      accessible: false,
      mechanism: 'tls.timeout',
    });
  });

  it('reads the same scenario written as JSON', () => {
    const json = JSON.stringify({
      name: 'x',
      description: 'd',
      probe: { inputs: ['http://www.example.com/'] },
      expect: [{ input: 'http://www.example.com/', blocking: false }],
    });
    expect(parseScenario(json, 'x.json').probe.cc).toBe('ZZ');
  });

  it('names the file, line and key of an unknown key', () => {
    const e = errorOf(GOOD.replace('    https: true', '    https: true\n    colour: blue'));
    expect(e.message).toBe('scenario.yaml:7: sites[0].colour: unknown key');
  });

  it('names an unknown key inside a flow mapping', () => {
    const e = errorOf(GOOD.replace('{ sni: news.example.az }', '{ sni: news.example.az, tls: 1 }'));
    expect(e.message).toBe('scenario.yaml:8: censor[0].match.tls: unknown key');
  });

  it('rejects an action that does not fit the match', () => {
    const e = errorOf(GOOD.replace('action: drop', 'action: nxdomain'));
    expect(e.line).toBe(8);
    expect(e.message).toContain('censor[0].action: nxdomain does not apply to a sni match');
  });

  it('rejects a wrong value with its line', () => {
    const e = errorOf(GOOD.replace('blocking: http-failure', 'blocking: tls'));
    expect(e.line).toBe(15);
    expect(e.key).toBe('expect[0].blocking');
  });

  it('rejects an expectation for an input the probe does not measure', () => {
    const e = errorOf(
      GOOD.replace('  - input: https://news.example.az/', '  - input: https://other.example/'),
    );
    expect(e.message).toContain('expect[0].input: https://other.example/ is not one of probe.inputs');
  });

  it('rejects an unknown mechanism', () => {
    const e = errorOf(GOOD.replace('mechanism: tls.timeout', 'mechanism: tls.magic'));
    expect(e.message).toContain('unknown mechanism "tls.magic"');
  });

  it('says what is missing', () => {
    const e = errorOf('name: x\ndescription: y\nexpect: []\n');
    expect(e.message).toMatch(/^scenario\.yaml:\d+: probe: is required$/);
  });

  it('reports broken YAML with its line', () => {
    const e = errorOf('name: x\nsites: [\n');
    expect(e.message).toMatch(/^scenario\.yaml:\d+: not valid YAML\/JSON/);
  });

  it('reads expectations for experiments without inputs', () => {
    const s = parseScenario(
      `name: apps
description: d
probe: { experiments: [whatsapp, throttling], inputs: [https://x.example/] }
expect:
  - { experiment: whatsapp, verdict: blocked, mechanism: tls.timeout }
  - { experiment: throttling, input: https://x.example/, verdict: throttled }
`,
      'apps.yaml',
    );
    expect(s.expect).toEqual([
      { experiment: 'whatsapp', input: null, verdict: 'blocked', mechanism: 'tls.timeout' },
      { experiment: 'throttling', input: 'https://x.example/', verdict: 'throttled' },
    ]);
  });

  it('keeps Web Connectivity keys and experiment verdicts apart', () => {
    const base = `name: apps
description: d
probe: { experiments: [whatsapp, web_connectivity], inputs: [https://x.example/] }
expect:
`;
    expect(errorOf(`${base}  - { experiment: whatsapp, blocking: dns }\n`).message).toBe(
      'scenario.yaml:5: expect[0].blocking: belongs to web_connectivity expectations; use verdict for whatsapp',
    );
    expect(errorOf(`${base}  - { experiment: whatsapp, input: https://x.example/ }\n`).message).toContain(
      'whatsapp measures its own endpoints and takes no input',
    );
    expect(errorOf(`${base}  - { experiment: signal, verdict: ok }\n`).message).toContain(
      'signal is not one of probe.experiments',
    );
    expect(errorOf(`${base}  - { input: https://x.example/, verdict: ok }\n`).message).toContain(
      'web_connectivity states blocking and accessible, not verdict',
    );
  });

  it('parses every scenario of the suite, with unique names', async () => {
    const specs = await loadScenarios(await suiteFiles());
    expect(specs.length).toBeGreaterThanOrEqual(20);
    for (const s of specs) expect(s.file.endsWith(`${s.name}.yaml`)).toBe(true);
  });
});
