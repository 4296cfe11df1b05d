import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WebConnectivityMeasurement, WebConnectivityTestKeys } from '@pharos/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIO } from '../src/cli/io.js';
import { main } from '../src/cli/main.js';
import type { Measure, RunExperiment } from '../src/cli/run.js';
import type { AnyMeasurement } from '../src/experiments/registry.js';
import type { WebConnectivityOptions } from '../src/webconnectivity/index.js';

const START = Date.parse('2024-02-07T10:15:00Z');

/** A CliIO that records output and lets the test press Ctrl-C. */
function fakeIO(cwd: string, options: { tty?: boolean } = {}) {
  let stdout = '';
  let stderr = '';
  let clock = START;
  const interruptHandlers = new Set<() => void>();
  const io: CliIO = {
    stdout: { write: (chunk) => (stdout += chunk) },
    stderr: { write: (chunk) => (stderr += chunk), isTTY: options.tty ?? false },
    cwd,
    now: () => new Date(clock),
    onInterrupt(handler) {
      interruptHandlers.add(handler);
      return () => interruptHandlers.delete(handler);
    },
  };
  return {
    io,
    stdout: () => stdout,
    stderr: () => stderr,
    advance: (ms: number) => {
      clock += ms;
    },
    interrupt: () => {
      for (const handler of interruptHandlers) handler();
    },
  };
}

/** A measurement with the keys the CLI reads; the rest of the envelope is irrelevant here. */
function measurementFor(
  input: string,
  keys: Partial<WebConnectivityTestKeys> = {},
): WebConnectivityMeasurement {
  return {
    input,
    test_name: 'web_connectivity',
    test_keys: {
      blocking: false,
      accessible: true,
      x_mechanism: null,
      x_confirmed: false,
      control_failure: null,
      x_bytes_sent: 100,
      x_bytes_received: 1000,
      ...keys,
    },
  } as unknown as WebConnectivityMeasurement;
}

/** Fake measure: canned verdicts by URL, and a record of every call. */
function fakeMeasure(verdicts: Record<string, Partial<WebConnectivityTestKeys>> = {}) {
  const calls: { input: string; options: WebConnectivityOptions }[] = [];
  const measure: Measure = async (input, options) => {
    calls.push({ input, options });
    return measurementFor(input, verdicts[input]);
  };
  return { measure, calls };
}

async function readLines(file: string): Promise<WebConnectivityMeasurement[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as WebConnectivityMeasurement);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pharos-probe run: argument validation', () => {
  it('rejects a URL that is not http(s), naming it, before measuring anything', async () => {
    const t = fakeIO(dir);
    const { measure, calls } = fakeMeasure();
    const code = await main(['run', '--input', 'https://ok.example/', '--input', 'htp://x'], t.io, {
      measure,
    });
    expect(code).toBe(2);
    expect(t.stderr()).toContain('pharos-probe: invalid URL "htp://x": scheme "htp" is not http or https\n');
    expect(calls).toHaveLength(0);
  });

  it.each([
    [[], /nothing to measure: give at least one --input URL or --list FILE/],
    [
      ['--experiment', 'throttling'],
      /nothing to measure: give at least one --input URL or --list FILE for throttling/,
    ],
    [
      ['--experiment', 'whatsap'],
      /unknown experiment "whatsap" \(known: web_connectivity, throttling, whatsapp/,
    ],
    [
      ['--experiment', 'whatsapp', '--input', 'https://a.example/'],
      /whatsapp measure their own endpoints; --input and --list are for web_connectivity and throttling/,
    ],
    [['--experiment', 'tiktok', '--data-budget', 'lots'], /--data-budget "lots": give a size such as 20MB/],
    [['--input', 'https://a.example/', '--concurrency', '0'], /--concurrency "0": must be at least 1/],
    [
      ['--input', 'https://a.example/', '--concurrency', 'four'],
      /--concurrency "four": expected a whole number/,
    ],
    [
      ['--input', 'https://a.example/', '--resolver', 'dns.google'],
      /--resolver "dns.google": not an IP address/,
    ],
    [
      ['--input', 'https://a.example/', '--resolver', '8.8.8.8:70000'],
      /port "70000" is not a number from 1 to 65535/,
    ],
    [
      ['--input', 'https://a.example/', '--doh', 'dns.google/dns-query'],
      /--doh "dns.google\/dns-query": not a valid URL/,
    ],
    [
      ['--input', 'https://a.example/', '--th', 'ftp://th.example/'],
      /--th "ftp:\/\/th.example\/": scheme "ftp"/,
    ],
    [
      ['--input', 'https://a.example/', '--probe-cc', 'AZE'],
      /--probe-cc "AZE": expected a two-letter country code/,
    ],
    [
      ['--input', 'https://a.example/', '--probe-asn', 'Azercell'],
      /--probe-asn "Azercell": expected an AS number/,
    ],
    [
      ['--input', 'https://a.example/', '--timeout', '0'],
      /--timeout "0": expected a number of seconds greater than 0/,
    ],
    [['--input', 'https://a.example/', '--bogus'], /unknown option --bogus/],
    [['--input', 'https://a.example/', '--output', 'a', '--output', 'b'], /--output may be given only once/],
    [['--input', 'https://a.example/', '--quiet=yes'], /--quiet takes no value/],
    [['--input'], /--input needs a value/],
    [['--input', '--quiet'], /--input needs a value/],
    [['https://a.example/'], /unexpected argument "https:\/\/a.example\/" \(to measure a URL, write --input/],
    [['--list', 'missing.csv'], /cannot read test list missing.csv/],
    [['--input', 'https://a.example/', '--ca', 'missing.pem'], /--ca missing.pem: cannot read it/],
  ])('run %j exits 2 with a message', async (args, message) => {
    const t = fakeIO(dir);
    const { measure, calls } = fakeMeasure();
    expect(await main(['run', ...args], t.io, { measure })).toBe(2);
    expect(t.stderr()).toMatch(message);
    expect(t.stderr()).toContain('Run "pharos-probe run --help" for usage.');
    expect(calls).toHaveLength(0);
  });

  it('rejects a CA file without a certificate', async () => {
    await writeFile(path.join(dir, 'ca.pem'), 'not a certificate\n');
    const t = fakeIO(dir);
    const code = await main(['run', '--input', 'https://a.example/', '--ca', 'ca.pem'], t.io, fakeMeasure());
    expect(code).toBe(2);
    expect(t.stderr()).toContain('--ca ca.pem: no PEM certificate in it');
  });

  it('exits 2 when no row of the lists is usable', async () => {
    await writeFile(path.join(dir, 'bad.csv'), 'url,category_code\nftp://x.example/,NEWS\n');
    const t = fakeIO(dir);
    expect(await main(['run', '--list', 'bad.csv'], t.io, fakeMeasure())).toBe(2);
    expect(t.stderr()).toContain('pharos-probe: warning: bad.csv:2: invalid URL "ftp://x.example/"');
    expect(t.stderr()).toContain('no valid URL to measure');
  });

  it('prints usage for help, and exits 2 on an unknown command', async () => {
    const help = fakeIO(dir);
    expect(await main(['help'], help.io, fakeMeasure())).toBe(0);
    expect(help.stdout()).toContain('Usage: pharos-probe <command>');
    const runHelp = fakeIO(dir);
    expect(await main(['run', '--help'], runHelp.io, fakeMeasure())).toBe(0);
    expect(runHelp.stdout()).toContain(
      'Usage: pharos-probe run [--experiment NAME ...] (--input URL ... | --list FILE ...) [options]',
    );
    const unknown = fakeIO(dir);
    expect(await main(['measure'], unknown.io, fakeMeasure())).toBe(2);
    expect(unknown.stderr()).toMatch(/^pharos-probe: unknown command "measure"\n\nUsage:/);
  });
});

describe('pharos-probe run: measuring', () => {
  it('measures each URL once, appends JSONL, reports progress lines and a summary', async () => {
    await writeFile(
      path.join(dir, 'az.csv'),
      'url,category_code,category_description,date_added,source,notes\n' +
        'https://www.azadliq.org/,NEWS,News Media,2017-04-01,citizenlab,\n' +
        'https://ok.example/,GRP,Social Networking,2017-04-01,citizenlab,\n' +
        'https://www.azadliq.org/,NEWS,News Media,2017-04-01,citizenlab,\n',
    );
    await writeFile(path.join(dir, 'out.jsonl'), '{"earlier":"run"}\n');
    const t = fakeIO(dir);
    const { measure, calls } = fakeMeasure({
      'https://www.azadliq.org/': { blocking: 'http-failure', accessible: false, x_mechanism: 'tls.timeout' },
      'http://down.example/': { blocking: false, accessible: false },
    });
    const code = await main(
      [
        'run',
        ...['--list', 'az.csv', '--input', 'http://down.example/', '--output', 'out.jsonl'],
        ...['--resolver', '1.1.1.1', '--probe-cc', 'az', '--probe-asn', '29049', '--timeout', '2.5'],
        ...['--th', 'http://127.0.0.1:8080/', '--th', 'https://th.example/'],
      ],
      t.io,
      { measure },
    );
    expect(code).toBe(0);
    expect(calls.map((c) => c.input).sort()).toEqual([
      'http://down.example/',
      'https://ok.example/',
      'https://www.azadliq.org/',
    ]);
    const options = calls[0]?.options;
    expect(options).toMatchObject({
      testHelpers: ['http://127.0.0.1:8080/', 'https://th.example/'],
      publicResolver: '1.1.1.1:53',
      dohURL: 'https://dns.google/dns-query',
      probeCC: 'AZ',
      probeASN: 'AS29049',
      timeouts: { dns: 2500, connect: 2500, tls: 2500, http: 2500, control: 7500 },
      testStartTime: new Date(START),
    });
    expect(options?.reportId).toMatch(/^20240207T101500Z_webconnectivity_AZ_29049_n1_[A-Za-z0-9]{16}$/);
    // One report for the run: every URL carries the same id.
    expect(new Set(calls.map((c) => c.options.reportId)).size).toBe(1);
    expect(options?.signal).toBeInstanceOf(AbortSignal);

    const lines = await readLines(path.join(dir, 'out.jsonl'));
    expect(lines).toHaveLength(4); // appended after the earlier run's line
    expect(
      lines
        .slice(1)
        .map((m) => m.input)
        .sort(),
    ).toEqual(calls.map((c) => c.input).sort());

    expect(t.stderr()).toContain(
      'warning: az.csv:4: duplicate of az.csv:2 (https://www.azadliq.org/); measured once',
    );
    expect(t.stderr()).toMatch(
      /\[\d\/3\] https:\/\/www\.azadliq\.org\/ blocked http-failure \(tls\.timeout\)\n/,
    );
    expect(t.stderr()).toMatch(/\[\d\/3\] http:\/\/down\.example\/ website down\n/);
    expect(t.stderr()).toMatch(/\[\d\/3\] https:\/\/ok\.example\/ accessible\n/);

    const summary = t.stdout();
    expect(summary).toMatch(/^accessible\s+1$/m);
    expect(summary).toMatch(/^blocked \(http-failure\)\s+1$/m);
    expect(summary).toMatch(/^website down\s+1$/m);
    expect(summary).toMatch(
      /^https:\/\/www\.azadliq\.org\/\s+NEWS\s+blocked http-failure\s+http-failure\s+tls\.timeout\s+false\s+no$/m,
    );
    expect(summary).not.toMatch(/^https:\/\/ok\.example\//m);
    expect(summary).toContain('Measured 3 of 3 URLs in 0ms; sent 300 B, received 3.0 kB.');
    expect(summary).toContain(`Measurements: ${path.join(dir, 'out.jsonl')}`);
  });

  it('names the output file after the run start, in the working directory', async () => {
    const t = fakeIO(dir);
    expect(await main(['run', '--input', 'https://a.example/', '--quiet'], t.io, fakeMeasure())).toBe(0);
    const file = path.join(dir, 'pharos-web_connectivity-20240207T101500Z.jsonl');
    expect(await readLines(file)).toHaveLength(1);
    expect(t.stderr()).toBe(''); // --quiet: no progress
  });

  it('measures at most --concurrency URLs at a time, capped at 64', async () => {
    let running = 0;
    let most = 0;
    const measure: Measure = async (input) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return measurementFor(input);
    };
    const inputs = Array.from({ length: 8 }, (_, i) => ['--input', `https://site${i}.example/`]).flat();
    const t = fakeIO(dir);
    expect(await main(['run', ...inputs, '--concurrency', '3', '--quiet'], t.io, { measure })).toBe(0);
    expect(most).toBe(3);

    const capped = fakeIO(dir);
    expect(
      await main(['run', '--input', 'https://a.example/', '--concurrency', '100'], capped.io, { measure }),
    ).toBe(0);
    expect(capped.stderr()).toContain('--concurrency 100 is above the limit; measuring 64 at a time');
  });

  it('draws one progress bar on a terminal', async () => {
    const t = fakeIO(dir, { tty: true });
    const { measure } = fakeMeasure({ 'https://b.example/': { blocking: 'dns', accessible: false } });
    await main(['run', '--input', 'https://a.example/', '--input', 'https://b.example/'], t.io, { measure });
    const frames = t
      .stderr()
      .split('\r\x1b[2K')
      .filter((frame) => frame !== '');
    expect(frames[0]).toBe('[--------------------] 0/2  blocked 0  down 0  0ms');
    expect(frames.at(-1)).toBe('[####################] 2/2  blocked 1  down 0  0ms\n');
    expect(t.stderr()).not.toMatch(/\n\[/); // redrawn in place, never a new line per URL
  });

  it('warns, after the summary, when the test helper never answered', async () => {
    const t = fakeIO(dir);
    const failed = { blocking: null, accessible: null, control_failure: 'connection_refused' } as const;
    const { measure } = fakeMeasure({ 'https://a.example/': failed, 'https://b.example/': failed });
    const code = await main(
      [
        'run',
        '--input',
        'https://a.example/',
        '--input',
        'https://b.example/',
        '--th',
        'http://127.0.0.1:9/',
      ],
      t.io,
      { measure },
    );
    expect(code).toBe(0);
    expect(t.stdout()).toMatch(/^could not tell\s+2$/m);
    expect(t.stderr()).toContain(
      'pharos-probe: warning: the test helper never answered: http://127.0.0.1:9/ failed for all 2 URLs with connection_refused.',
    );
  });

  it('keeps going when one measurement throws, and counts it', async () => {
    const t = fakeIO(dir);
    const measure: Measure = async (input) => {
      if (input.includes('bad')) throw new Error('bug in the experiment');
      return measurementFor(input);
    };
    const code = await main(
      ['run', '--input', 'https://bad.example/', '--input', 'https://a.example/'],
      t.io,
      {
        measure,
      },
    );
    expect(code).toBe(0);
    expect(t.stderr()).toContain('error: measuring https://bad.example/ failed: bug in the experiment');
    expect(t.stdout()).toMatch(/^failed to measure\s+1$/m);
    expect(t.stdout()).toContain('Measured 1 of 2 URLs');
  });

  it('exits 1 when the output file cannot be opened', async () => {
    const t = fakeIO(dir);
    const code = await main(
      ['run', '--input', 'https://a.example/', '--output', 'no/such/dir/out.jsonl'],
      t.io,
      fakeMeasure(),
    );
    expect(code).toBe(1);
    expect(t.stderr()).toMatch(/cannot open .*no\/such\/dir\/out\.jsonl for writing/);
  });
});

describe('pharos-probe run: Ctrl-C', () => {
  const inputs = [
    '--input',
    'https://a.example/',
    '--input',
    'https://b.example/',
    '--input',
    'https://c.example/',
  ];

  it('first Ctrl-C starts nothing new, lets the running URL finish, and exits 130 after the summary', async () => {
    const t = fakeIO(dir);
    let finishFirst: () => void = () => {};
    const started: string[] = [];
    const measure: Measure = async (input) => {
      started.push(input);
      await new Promise<void>((resolve) => {
        finishFirst = resolve;
      });
      return measurementFor(input);
    };
    const run = main(['run', ...inputs, '--concurrency', '1', '--output', 'out.jsonl'], t.io, { measure });
    await vi_waitFor(() => started.length === 1);
    t.interrupt();
    finishFirst();
    expect(await run).toBe(130);
    expect(started).toEqual(['https://a.example/']);
    expect(await readLines(path.join(dir, 'out.jsonl'))).toHaveLength(1);
    expect(t.stderr()).toContain('interrupted: starting no new URLs, waiting for 1 running');
    expect(t.stdout()).toContain('Interrupted: measured 1 of 3 URLs');
  });

  it('second Ctrl-C aborts running URLs and records nothing partial', async () => {
    const t = fakeIO(dir);
    const signals: AbortSignal[] = [];
    // A measurement that ignores its signal must not keep the run waiting either.
    const measure: Measure = (_input, options) => {
      if (options.signal) signals.push(options.signal);
      return new Promise(() => {});
    };
    const run = main(['run', ...inputs, '--concurrency', '2', '--output', 'out.jsonl'], t.io, { measure });
    await vi_waitFor(() => signals.length === 2);
    t.interrupt();
    t.interrupt();
    expect(await run).toBe(130);
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(await readLines(path.join(dir, 'out.jsonl'))).toHaveLength(0);
    expect(t.stderr()).toContain('aborted 2 running URLs; they are not recorded');
    expect(t.stdout()).toContain('Interrupted: measured 0 of 3 URLs');
  });
});

const builtCLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/cli.js');
describe.skipIf(!existsSync(builtCLI))('the built executable', () => {
  it('exits 2 on a bad URL, naming it', async () => {
    const result = await promisify(execFile)(process.execPath, [builtCLI, 'run', '--input', 'htp://x']).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pharos-probe: invalid URL "htp://x": scheme "htp" is not http or https');
  });
});

/** Polls until `condition` holds: the run under test is started in the background. */
async function vi_waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

describe('pharos-probe run: other experiments', () => {
  it('runs each experiment on its inputs or its own endpoints, and stops at the data budget', async () => {
    const t = fakeIO(dir);
    const { measure, calls } = fakeMeasure();
    const ran: { name: string; input: string | null }[] = [];
    const runExperiment: RunExperiment = async (name, input, options) => {
      ran.push({ name, input });
      // Experiments other than Web Connectivity spend from the budget themselves.
      options.dataBudget?.spend(800);
      return {
        ...measurementFor(input ?? name),
        test_name: name,
        input,
        test_keys: {
          x_verdict: 'blocked',
          x_mechanism: 'tls.timeout',
          x_bytes_sent: 300,
          x_bytes_received: 500,
        },
      } as unknown as AnyMeasurement;
    };
    const code = await main(
      [
        'run',
        '--experiment',
        'whatsapp',
        '--experiment',
        'throttling',
        '--input',
        'https://a.example/',
        '--concurrency',
        '1',
        '--data-budget',
        '500',
        '--output',
        'out.jsonl',
      ],
      t.io,
      { measure, runExperiment },
    );
    expect(code).toBe(0);
    expect(calls).toHaveLength(0);
    expect(ran).toEqual([{ name: 'whatsapp', input: null }]);
    expect(t.stderr()).toContain(
      'the data budget (--data-budget 500 bytes) was spent; 1 measurements were not started',
    );
    const lines = await readFile(path.join(dir, 'out.jsonl'), 'utf8');
    expect(JSON.parse(lines.trim()).test_name).toBe('whatsapp');
    expect(t.stdout()).toMatch(/whatsapp\s+blocked tls\.timeout/);
  });
});
