import type { WebConnectivityMeasurement, WebConnectivityTestKeys } from '@pharos/core';
import { describe, expect, it } from 'vitest';
import { outcomeOf } from '../src/cli/outcome.js';
import {
  controlFailureWarning,
  experimentControlWarnings,
  type FinishedURL,
  formatSummary,
} from '../src/cli/summary.js';
import { formatTable } from '../src/cli/table.js';
import { formatBytes, formatDuration } from '../src/cli/units.js';

function finished(
  url: string,
  keys: Partial<WebConnectivityTestKeys>,
  categoryCode: string | null = 'NEWS',
): FinishedURL {
  const measurement = {
    input: url,
    test_keys: {
      blocking: false,
      accessible: true,
      x_mechanism: null,
      x_confirmed: false,
      control_failure: null,
      x_bytes_sent: 1000,
      x_bytes_received: 20_000,
      ...keys,
    },
  } as unknown as WebConnectivityMeasurement;
  return { input: { url, categoryCode, origin: 'az.csv:2' }, measurement, outcome: outcomeOf(measurement) };
}

const RESULTS = [
  finished('https://www.azadliq.org/', {
    blocking: 'http-failure',
    accessible: false,
    x_mechanism: 'tls.timeout',
  }),
  finished('http://abzas.net/', { blocking: 'dns', accessible: false, x_mechanism: 'dns.nxdomain' }),
  finished('https://ok.example/', {}, null),
  finished('https://gone.example/', { blocking: false, accessible: false }),
  finished('https://meydan.tv/', {
    blocking: 'http-diff',
    accessible: false,
    x_mechanism: 'http.blockpage',
    x_confirmed: true,
  }),
  finished('https://unsure.example/', {
    blocking: null,
    accessible: null,
    control_failure: 'generic_timeout_error',
  }),
];

describe('run summary', () => {
  it('counts outcomes and lists every URL that was not accessible', () => {
    const text = formatSummary({
      planned: 7,
      finished: RESULTS,
      errors: 0,
      elapsedMs: 123_400,
      outputPath: '/tmp/out.jsonl',
      interrupted: false,
    });
    expect(text).toBe(
      [
        'outcome                 URLs',
        '----------------------  ----',
        'accessible                 1',
        'blocked (dns)              1',
        'blocked (http-diff)        1',
        'blocked (http-failure)     1',
        'website down               1',
        'could not tell             1',
        'network down               0',
        '',
        'URL                       category  outcome               blocking      mechanism       accessible  confirmed',
        '------------------------  --------  --------------------  ------------  --------------  ----------  ---------',
        'http://abzas.net/         NEWS      blocked dns           dns           dns.nxdomain    false       no',
        'https://meydan.tv/        NEWS      blocked http-diff     http-diff     http.blockpage  false       yes',
        'https://www.azadliq.org/  NEWS      blocked http-failure  http-failure  tls.timeout     false       no',
        'https://gone.example/     NEWS      website down          false                         false       no',
        'https://unsure.example/   NEWS      could not tell        null                          null        no',
        '',
        'Measured 6 of 7 URLs in 2m03s; sent 6.0 kB, received 120.0 kB.',
        'Measurements: /tmp/out.jsonl',
        '',
      ].join('\n'),
    );
  });

  it('says when the run was interrupted and when URLs failed to measure', () => {
    const text = formatSummary({
      planned: 110,
      finished: RESULTS.slice(2, 3),
      errors: 2,
      elapsedMs: 4_000,
      outputPath: 'out.jsonl',
      interrupted: true,
    });
    expect(text).toContain('failed to measure     2\n');
    expect(text).toContain('Interrupted: measured 1 of 110 URLs in 4s');
    expect(text).not.toContain('URL  ');
  });

  it('classifies network down before anything else', () => {
    const down = finished('https://x.example/', {
      blocking: null,
      accessible: null,
      x_mechanism: 'network.down',
    });
    expect(down.outcome).toEqual({ kind: 'network-down' });
  });

  it('warns only when every measurement lacks the control, naming helper and failure', () => {
    expect(controlFailureWarning(RESULTS, ['https://0.th.ooni.org/'])).toBeNull();
    expect(controlFailureWarning([], ['https://0.th.ooni.org/'])).toBeNull();
    const allFailed = [
      finished('https://a.example/', {
        blocking: null,
        accessible: null,
        control_failure: 'connection_refused',
      }),
      finished('https://b.example/', {
        blocking: null,
        accessible: null,
        control_failure: 'connection_refused',
      }),
      finished('https://c.example/', {
        blocking: null,
        accessible: null,
        control_failure: 'generic_timeout_error',
      }),
    ];
    const warning = controlFailureWarning(allFailed, ['http://127.0.0.1:9/']);
    expect(warning).toMatch(
      /^warning: the test helper never answered: http:\/\/127\.0\.0\.1:9\/ failed for all 3 URLs with connection_refused \(2\), generic_timeout_error \(1\)\./,
    );
    expect(warning).toContain('--th URL');
  });
});

describe('formatting', () => {
  it('aligns columns, right-aligning where asked', () => {
    expect(
      formatTable(
        ['name', 'n'],
        [
          ['a', '1'],
          ['longer', '100'],
        ],
        ['left', 'right'],
      ),
    ).toBe('name      n\n------  ---\na         1\nlonger  100\n');
  });

  it('writes durations and byte counts for people', () => {
    expect([
      formatDuration(850),
      formatDuration(42_000),
      formatDuration(123_000),
      formatDuration(3_723_000),
    ]).toEqual(['850ms', '42s', '2m03s', '1h02m03s']);
    expect([formatBytes(512), formatBytes(1234), formatBytes(34_500_000)]).toEqual([
      '512 B',
      '1.2 kB',
      '34.5 MB',
    ]);
  });
});

describe('app and platform warnings', () => {
  const app = (keys: Record<string, unknown>): FinishedURL => {
    const measurement = {
      test_name: 'whatsapp',
      input: null,
      test_keys: keys,
    } as unknown as WebConnectivityMeasurement;
    return {
      input: { url: 'whatsapp', categoryCode: null, origin: '--experiment' },
      measurement,
      outcome: outcomeOf(measurement),
    };
  };

  it('says the machine may be offline when the helper and every endpoint failed', () => {
    const lines = experimentControlWarnings(
      [
        app({
          x_verdict: null,
          x_control_failure: 'dns_nxdomain_error',
          x_failed_endpoints: ['a', 'b'],
          x_endpoints: [{}, {}],
        }),
        app({ x_verdict: 'ok', x_control_failure: null, x_failed_endpoints: [], x_endpoints: [{}] }),
      ],
      ['https://th.example/'],
    );
    expect(lines).toEqual([
      'warning: whatsapp: could not tell blocked from down: the test helper (https://th.example/) failed with dns_nxdomain_error; every endpoint failed too: is this machine online?\n',
    ]);
  });

  it('does not guess the machine is offline when some endpoints worked', () => {
    const [line] = experimentControlWarnings(
      [
        app({
          x_verdict: null,
          x_control_failure: 'generic_timeout_error',
          x_failed_endpoints: ['a'],
          x_endpoints: [{}, {}],
        }),
      ],
      ['https://th.example/'],
    );
    expect(line).not.toContain('online');
  });
});
