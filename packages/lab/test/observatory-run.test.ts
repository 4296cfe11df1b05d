/** What a timeline run hands the server and the probes, and how it reads what they said back. */
import { describe, expect, it } from 'vitest';
import { beaconArgs, beaconCounts, locatorTable, readPolls, serverArgs } from '../src/observatory-run.js';
import type { ProbeNode } from '../src/spec.js';

const fuz: ProbeNode = {
  name: 'delta-fuz-1',
  cc: 'AZ',
  asn: 29049,
  region: 'AZ-FUZ',
  experiments: [],
  inputs: [],
};

describe('a timeline run', () => {
  it('starts the server with detection and measurement steps at the beacon interval, the lab’s detector settings and locator', () => {
    expect(
      serverArgs({
        dataDir: '/d',
        host: '10.100.16.4',
        interval: 5,
        detectConfigFile: '/c.json',
        locatorFile: '/l.json',
      }),
    ).toEqual([
      'serve',
      '--data',
      '/d',
      '--host',
      '10.100.16.4',
      '--port',
      '8080',
      '--beacon-interval',
      '5s',
      '--detect-every',
      '5s',
      '--measurement-step',
      '5s',
      '--detect-config',
      '/c.json',
      '--locator',
      '/l.json',
      '--log',
    ]);
    expect(locatorTable([fuz], { 'delta-fuz-1': '10.100.1.3' })).toEqual({
      '10.100.1.3/32': { cc: 'AZ', asn: 29049 },
    });
  });

  it('has each probe beacon with its region, country and ASN', () => {
    expect(beaconArgs(fuz, { collector: 'http://10.100.16.4:8080/', interval: 5, stateDir: '/s' })).toEqual([
      'beacon',
      '--collector',
      'http://10.100.16.4:8080/',
      '--interval',
      '5s',
      '--region',
      'AZ-FUZ',
      '--cc',
      'AZ',
      '--asn',
      '29049',
      '--state-dir',
      '/s',
    ]);
  });

  it('counts the beacons the server took and refused from its request log', () => {
    const log = [
      '$ node cli.js serve …',
      '{"reqId":"req-1","req":{"method":"POST","url":"/api/v1/beacons"},"msg":"incoming request"}',
      '{"reqId":"req-2","req":{"method":"GET","url":"/api/v1/incidents"},"msg":"incoming request"}',
      '{"reqId":"req-2","res":{"statusCode":200},"msg":"request completed"}',
      '{"reqId":"req-1","res":{"statusCode":202},"msg":"request completed"}',
      '{"reqId":"req-3","req":{"method":"POST","url":"/api/v1/beacons"},"msg":"incoming request"}',
      '{"reqId":"req-3","res":{"statusCode":429},"msg":"request completed"}',
      'pharos: server stopped',
    ].join('\n');
    expect(beaconCounts(log)).toEqual({ accepted: 1, refused: 1 });
  });

  it('reads the incidents API’s answers, errors included, in run seconds', () => {
    const start = 1_000_000;
    const text = [
      JSON.stringify({ t: start + 1500, path: 'api/v1/incidents', status: 200, body: { incidents: [] } }),
      JSON.stringify({
        t: start + 2500,
        path: 'api/v1/incidents',
        status: 404,
        body: { error: 'Not Found' },
      }),
      JSON.stringify({ t: start + 3500, path: 'api/v1/incidents', status: null, error: 'fetch failed' }),
      'not json',
    ].join('\n');
    expect(readPolls(text, start)).toEqual([
      { at: 1.5, incidents: [] },
      { at: 2.5, error: 'HTTP 404' },
      { at: 3.5, error: 'fetch failed' },
    ]);
  });
});
