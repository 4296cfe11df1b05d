/**
 * `pharos serve` arguments, parsed with node:util parseArgs and checked, files included, before
 * the server starts: a typo in a key path must not leave a half-started helper.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseDetectionConfig } from '../detection/config.js';
import { once, parseCommandLine } from './command-line.js';
import { parseDuration } from './duration.js';
import { DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT } from './serve-usage.js';
import { UsageError } from './usage-error.js';

export interface ServeArgs {
  help: boolean;
  /** Absolute path of the data directory. */
  dataDir: string;
  /** True when --data was not given and dataDir is the default, ./pharos-data. */
  dataDirDefaulted: boolean;
  /** The evidence log's origin (its name in checkpoints), if given. */
  origin: string | undefined;
  /** Measurements received this long after they ended are marked late; undefined: the store's default. */
  lateAfterSeconds: number | undefined;
  host: string;
  port: number;
  https: { key: string; cert: string } | undefined;
  resolver: string | undefined;
  extraCA: string[] | undefined;
  log: boolean;
  detection: DetectionArgs;
}

export interface DetectionArgs {
  /** How often probes beacon, seconds: the step of the silence signals. */
  beaconInterval: number;
  /** Step of the measurement signals, seconds. */
  measurementStep: number;
  /** Seconds between detection passes, or null when detection is off. */
  every: number | null;
  /** Detector settings (JSON, checked by the detection config), if a file was given. */
  config: unknown;
  configFile: string | undefined;
}

export const DEFAULT_BEACON_INTERVAL_SECONDS = 60;
export const DEFAULT_MEASUREMENT_STEP_SECONDS = 600;

// Every option is `multiple` so a repeated single-value option is reported, not silently
// resolved to the last one.
const OPTIONS = {
  data: { type: 'string', multiple: true },
  origin: { type: 'string', multiple: true },
  'late-after': { type: 'string', multiple: true },
  host: { type: 'string', multiple: true },
  port: { type: 'string', multiple: true },
  'tls-cert': { type: 'string', multiple: true },
  'tls-key': { type: 'string', multiple: true },
  resolver: { type: 'string', multiple: true },
  ca: { type: 'string', multiple: true },
  log: { type: 'boolean', multiple: true },
  'beacon-interval': { type: 'string', multiple: true },
  'detect-every': { type: 'string', multiple: true },
  'measurement-step': { type: 'string', multiple: true },
  'detect-config': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h', multiple: true },
} as const;

export function parseServeArgs(argv: string[], cwd: string): ServeArgs {
  const { values, positionals } = parseCommandLine(argv, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const help = (values.help?.length ?? 0) > 0;
  if (help) {
    return {
      help,
      dataDir: path.resolve(cwd, DEFAULT_DATA_DIR),
      dataDirDefaulted: true,
      origin: undefined,
      lateAfterSeconds: undefined,
      host: DEFAULT_HOST,
      port: DEFAULT_PORT,
      https: undefined,
      resolver: undefined,
      extraCA: undefined,
      log: false,
      detection: {
        beaconInterval: DEFAULT_BEACON_INTERVAL_SECONDS,
        measurementStep: DEFAULT_MEASUREMENT_STEP_SECONDS,
        every: DEFAULT_BEACON_INTERVAL_SECONDS,
        config: undefined,
        configFile: undefined,
      },
    };
  }

  const data = once(values, 'data');
  if (data !== undefined && data.trim() === '') throw new UsageError('--data needs a directory');
  const origin = once(values, 'origin');
  if (origin !== undefined) checkOrigin(origin);
  const lateAfter = once(values, 'late-after');
  const host = parseHost(once(values, 'host') ?? DEFAULT_HOST);
  const port = parsePort(once(values, 'port'));
  const certFile = once(values, 'tls-cert');
  const keyFile = once(values, 'tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both for HTTPS, or neither for HTTP');
  }
  const resolver = once(values, 'resolver');
  const caFiles = values.ca ?? [];
  return {
    help,
    dataDir: path.resolve(cwd, data ?? DEFAULT_DATA_DIR),
    dataDirDefaulted: data === undefined,
    origin,
    lateAfterSeconds: lateAfter === undefined ? undefined : parseLateAfter(lateAfter),
    host,
    port,
    https:
      certFile !== undefined && keyFile !== undefined
        ? { cert: readCertificates('--tls-cert', cwd, certFile), key: readKey(cwd, keyFile) }
        : undefined,
    resolver: resolver === undefined ? undefined : parseResolver(resolver),
    extraCA: caFiles.length > 0 ? caFiles.map((file) => readCertificates('--ca', cwd, file)) : undefined,
    log: (values.log?.length ?? 0) > 0,
    detection: parseDetection(
      once(values, 'beacon-interval'),
      once(values, 'measurement-step'),
      once(values, 'detect-every'),
      once(values, 'detect-config'),
      cwd,
    ),
  };
}

function parseDetection(
  interval: string | undefined,
  measurementStep: string | undefined,
  every: string | undefined,
  configFile: string | undefined,
  cwd: string,
): DetectionArgs {
  const beaconInterval =
    interval === undefined ? DEFAULT_BEACON_INTERVAL_SECONDS : parseDuration('--beacon-interval', interval);
  let config: unknown;
  if (configFile !== undefined) {
    const text = readFileArgument('--detect-config', cwd, configFile);
    try {
      config = parseDetectionConfig(JSON.parse(text), `--detect-config ${configFile}`);
    } catch (err) {
      const message = (err as Error).message;
      throw new UsageError(
        err instanceof SyntaxError ? `--detect-config ${configFile}: not valid JSON: ${message}` : message,
      );
    }
  }
  return {
    beaconInterval,
    measurementStep:
      measurementStep === undefined
        ? DEFAULT_MEASUREMENT_STEP_SECONDS
        : parseDuration('--measurement-step', measurementStep),
    every:
      every === 'off' ? null : every === undefined ? beaconInterval : parseDuration('--detect-every', every),
    config,
    configFile,
  };
}

/**
 * The origin names the log in every checkpoint (C2SP tlog-checkpoint) and in its key's name
 * (signed notes): printable, no spaces, no "+", conventionally the log's URL without the scheme.
 */
function checkOrigin(value: string): void {
  if (!/^[\x21-\x2a\x2c-\x7e]{1,255}$/.test(value)) {
    throw new UsageError(
      `--origin "${value}": expected a name without spaces or "+", such as pharos.example.org/log`,
    );
  }
}

function parseLateAfter(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--late-after "${value}": expected a number of seconds, such as 300`);
  }
  return seconds;
}

function parseHost(value: string): string {
  const host = value.trim();
  const isName =
    /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      host,
    );
  if (isIP(host) === 0 && !isName) {
    throw new UsageError(
      `--host "${value}": expected an IP address or host name to listen on, e.g. 127.0.0.1 or ::`,
    );
  }
  return host;
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(`--port "${value}": expected a port number from 0 to 65535 (0: any free port)`);
  }
  return port;
}

/** `IP:PORT` or `[IPv6]:PORT`; the port defaults to 53. */
function parseResolver(value: string): string {
  const match =
    /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value.trim()) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(value.trim());
  const host = match?.[1] ?? '';
  const port = Number(match?.[2] ?? 53);
  if (isIP(host) === 0 || !(port >= 1 && port <= 65535)) {
    throw new UsageError(`--resolver "${value}": expected IP:PORT, e.g. 127.0.0.1:53 or [::1]:53`);
  }
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function readFileArgument(option: string, cwd: string, file: string): string {
  try {
    return readFileSync(path.resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new UsageError(`${option} ${file}: cannot read it: ${(err as Error).message}`);
  }
}

function readCertificates(option: string, cwd: string, file: string): string {
  const text = readFileArgument(option, cwd, file);
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new UsageError(
      `${option} ${file}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)`,
    );
  }
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new UsageError(
        `${option} ${file}: certificate ${index + 1} is not valid: ${(err as Error).message}`,
      );
    }
  });
  return text;
}

function readKey(cwd: string, file: string): string {
  const text = readFileArgument('--tls-key', cwd, file);
  try {
    createPrivateKey(text);
  } catch (err) {
    throw new UsageError(`--tls-key ${file}: not a usable PEM private key: ${(err as Error).message}`);
  }
  return text;
}
