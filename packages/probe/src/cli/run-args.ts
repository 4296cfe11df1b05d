import { parseArgs } from 'node:util';
/**
 * `pharos-probe run` arguments: parsed with node:util parseArgs and checked completely before
 * anything is read or sent, so a typo costs nothing.
 */
import { EXPERIMENT_NAMES, isExperiment, takesInput, WEB_CONNECTIVITY } from '../experiments/registry.js';
import { checkMeasurableURL } from '../input/measurable-url.js';
import {
  parseASN,
  parseByteSize,
  parseCountryCode,
  parseIntegerInRange,
  parseRegion,
  parseResolverAddress,
  parseSeconds,
  parseServiceURL,
} from './arg-values.js';
import { parseBeaconIntervalOption } from './beacon-command.js';
import { describeParseError, UsageError } from './command-line.js';
import { parseUploadValues, UPLOAD_OPTIONS, type UploadArgs } from './upload-args.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_DOH,
  DEFAULT_RESOLVER,
  DEFAULT_TEST_HELPER,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_CONCURRENCY,
} from './usage.js';

export interface RunArgs {
  help: boolean;
  inputs: string[];
  lists: string[];
  /** null: the default name, made from the run's start time. */
  output: string | null;
  concurrency: number;
  /** Set when the asked concurrency was above the cap, to tell the user. */
  requestedConcurrency: number;
  testHelpers: string[];
  resolver: string;
  doh: string;
  caFiles: string[];
  fingerprintFiles: string[];
  probeCC: string | undefined;
  probeASN: string | undefined;
  /** ISO 3166-2 subdivision (`AZ-FUZ`) recorded in every measurement's annotations; undefined: none. */
  region: string | undefined;
  timeoutSeconds: number;
  quiet: boolean;
  /** Experiments to run, in order; web_connectivity when none is named. */
  experiments: string[];
  /** The app and platform catalog file, when not the shipped one. */
  catalog: string | undefined;
  /** An IP→ASN CSV for address-ownership checks (Messenger). */
  asnTable: string | undefined;
  /** Bytes the whole run may cost; undefined: no cap. */
  dataBudget: number | undefined;
  /** Collectors empty: no signing, no outbox, no upload (the JSONL file only). */
  upload: UploadArgs;
  /** Beacons beside the run, every this many ms (needs a collector); undefined: none. */
  beaconIntervalMs: number | undefined;
}

// --ca comes with UPLOAD_OPTIONS: the same CAs are trusted for measuring and for the collector.
// Every option is `multiple` so a repeated single-value option can be reported, not silently
// resolved to the last one.
const OPTIONS = {
  input: { type: 'string', multiple: true },
  list: { type: 'string', multiple: true },
  experiment: { type: 'string', multiple: true },
  catalog: { type: 'string', multiple: true },
  'asn-table': { type: 'string', multiple: true },
  'data-budget': { type: 'string', multiple: true },
  output: { type: 'string', multiple: true },
  concurrency: { type: 'string', multiple: true },
  th: { type: 'string', multiple: true },
  resolver: { type: 'string', multiple: true },
  doh: { type: 'string', multiple: true },
  fingerprints: { type: 'string', multiple: true },
  'probe-cc': { type: 'string', multiple: true },
  'probe-asn': { type: 'string', multiple: true },
  region: { type: 'string', multiple: true },
  timeout: { type: 'string', multiple: true },
  quiet: { type: 'boolean', multiple: true },
  help: { type: 'boolean', short: 'h', multiple: true },
  'beacon-interval': { type: 'string', multiple: true },
  ...UPLOAD_OPTIONS,
} as const;

export function parseRunArgs(argv: string[]): RunArgs {
  const { values, positionals } = parseStrict(argv);
  const help = (values.help?.length ?? 0) > 0;
  if (positionals.length > 0) {
    const first = positionals[0] ?? '';
    const hint = checkMeasurableURL(first).ok ? ` (to measure a URL, write --input ${first})` : '';
    throw new UsageError(`unexpected argument "${first}"${hint}`);
  }
  const once = (name: keyof typeof OPTIONS): string | undefined => {
    const given = values[name] as string[] | undefined;
    if (given && given.length > 1) throw new UsageError(`--${name} may be given only once`);
    return given?.[0];
  };

  const inputs = values.input ?? [];
  for (const input of inputs) {
    const check = checkMeasurableURL(input);
    if (!check.ok) throw new UsageError(`invalid URL "${input}": ${check.reason}`);
  }
  const lists = values.list ?? [];
  for (const list of lists) if (list.trim() === '') throw new UsageError('--list needs a file name');
  const experiments = [...new Set(values.experiment ?? [WEB_CONNECTIVITY])];
  for (const name of experiments) {
    if (!isExperiment(name)) {
      throw new UsageError(`unknown experiment "${name}" (known: ${EXPERIMENT_NAMES.join(', ')})`);
    }
  }
  const needInputs = experiments.filter(takesInput);
  const hasInputs = inputs.length > 0 || lists.length > 0;
  if (!help && needInputs.length > 0 && !hasInputs) {
    const who =
      needInputs.length === 1 && needInputs[0] === WEB_CONNECTIVITY ? '' : ` for ${needInputs.join(' and ')}`;
    throw new UsageError(`nothing to measure: give at least one --input URL or --list FILE${who}`);
  }
  if (!help && needInputs.length === 0 && hasInputs) {
    throw new UsageError(
      `${experiments.join(', ')} measure their own endpoints; --input and --list are for ${EXPERIMENT_NAMES.filter(takesInput).join(' and ')}`,
    );
  }

  const output = once('output');
  if (output !== undefined && output.trim() === '') throw new UsageError('--output needs a file name');
  const concurrencyText = once('concurrency');
  const requestedConcurrency =
    concurrencyText === undefined
      ? DEFAULT_CONCURRENCY
      : parseIntegerInRange('--concurrency', concurrencyText, 1);
  const timeoutText = once('timeout');
  const probeCCText = once('probe-cc');
  const probeCC = probeCCText === undefined ? undefined : parseCountryCode('--probe-cc', probeCCText);
  const probeASN = once('probe-asn');
  const regionText = once('region');
  const resolver = once('resolver');
  const doh = once('doh');
  const upload = parseUploadValues(values);
  if (upload.collectors.length === 0 && (values['state-dir'] || values['upload-timeout'])) {
    const given = values['state-dir'] ? '--state-dir' : '--upload-timeout';
    throw new UsageError(
      `${given} is used only with --collector (without it, measurements go to the JSONL file only)`,
    );
  }
  const files = (name: 'ca' | 'fingerprints') => {
    const given = values[name] ?? [];
    for (const file of given) if (file.trim() === '') throw new UsageError(`--${name} needs a file name`);
    return given;
  };

  return {
    help,
    inputs,
    lists,
    output: output ?? null,
    concurrency: Math.min(requestedConcurrency, MAX_CONCURRENCY),
    requestedConcurrency,
    testHelpers: (values.th ?? [DEFAULT_TEST_HELPER]).map((url) => parseServiceURL('--th', url)),
    resolver: parseResolverAddress('--resolver', resolver ?? DEFAULT_RESOLVER),
    doh: parseServiceURL('--doh', doh ?? DEFAULT_DOH),
    caFiles: files('ca'),
    fingerprintFiles: files('fingerprints'),
    probeCC,
    probeASN: probeASN === undefined ? undefined : parseASN('--probe-asn', probeASN),
    region:
      regionText === undefined
        ? undefined
        : parseRegion(
            '--region',
            regionText,
            probeCC === undefined ? undefined : { option: '--probe-cc', code: probeCC },
          ),
    timeoutSeconds:
      timeoutText === undefined ? DEFAULT_TIMEOUT_SECONDS : parseSeconds('--timeout', timeoutText),
    quiet: (values.quiet?.length ?? 0) > 0,
    experiments,
    catalog: once('catalog'),
    asnTable: once('asn-table'),
    dataBudget: (() => {
      const text = once('data-budget');
      return text === undefined ? undefined : parseByteSize('--data-budget', text);
    })(),
    upload,
    beaconIntervalMs: parseBeaconIntervalOption(once('beacon-interval'), upload.collectors.length > 0),
  };
}

function parseStrict(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
}
