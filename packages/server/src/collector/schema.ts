/**
 * The submission wrapper and the OONI 0.2.0 envelope, as the collector checks them (zod).
 *
 * Strict where a mistake would corrupt evidence or leak an address: the wrapper allows no unknown
 * fields (a misspelt `signatures` must not be silently ignored), the envelope's identifying fields
 * must be present with OONI's types and formats, and `probe_ip` must be OONI's placeholder.
 * Lenient elsewhere: envelopes may carry fields we do not know (OONI's backend fields, `x_` keys),
 * and test_keys are any object, since their shape is each experiment's own.
 */
import { z } from 'zod';
import { parseDecimalAt } from './ip-ranges.js';

export const SUBMISSION_FORMAT = 'pharos-submission/v1';

/**
 * Test names the collector accepts: OONI's experiments (ooni/probe-cli internal/registry) and
 * ours. A new experiment adds its name here.
 */
export const KNOWN_TEST_NAMES = [
  'web_connectivity',
  'dash',
  'dnscheck',
  'dnsping',
  'echcheck',
  'facebook_messenger',
  'http_header_field_manipulation',
  'http_host_header',
  'http_invalid_request_line',
  'ndt',
  'openvpn',
  'portfiltering',
  'psiphon',
  'quicping',
  'riseupvpn',
  'signal',
  'simplequicping',
  'sni_blocking',
  'stunreachability',
  'tcpping',
  'telegram',
  'tlsmiddlebox',
  'tlsping',
  'tor',
  'torsf',
  'urlgetter',
  'vanilla_tor',
  'whatsapp',
] as const;

/** The wrapper, without its items (each is checked on its own so the error can name it). */
export const submissionSchema = z.strictObject({
  format: z.literal(SUBMISSION_FORMAT, { error: `must be "${SUBMISSION_FORMAT}"` }),
  measurements: z.array(z.unknown(), { error: 'must be an array of measurements' }),
});

export const submissionItemSchema = z.strictObject({
  measurement: z.unknown(),
  probe_key: z.string({ error: 'must be a base64 string (the 32-byte Ed25519 public key)' }),
  signature: z.string({ error: 'must be a base64 string (the 64-byte Ed25519 signature)' }),
});

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether a string is OONI's "YYYY-MM-DD hh:mm:ss" (UTC), and a real date at that. Read by hand
 * rather than with a regular expression and a Date: it runs twice for every measurement the
 * collector takes. Years before 100 are refused, as they always were (Date.UTC reads them as
 * 1900-1999).
 */
export function isOoniTime(v: string): boolean {
  if (v.length !== 19) return false;
  if (v[4] !== '-' || v[7] !== '-' || v[10] !== ' ' || v[13] !== ':' || v[16] !== ':') return false;
  const y = parseDecimalAt(v, 0, 4);
  const mo = parseDecimalAt(v, 5, 7);
  const d = parseDecimalAt(v, 8, 10);
  const h = parseDecimalAt(v, 11, 13);
  const mi = parseDecimalAt(v, 14, 16);
  const s = parseDecimalAt(v, 17, 19);
  if (y < 100 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) {
    return false;
  }
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= (mo === 2 && leap ? 29 : DAYS_IN_MONTH[mo - 1]!);
}

const ooniTime = z.string().refine(isOoniTime, { message: 'must be a UTC time as "YYYY-MM-DD hh:mm:ss"' });

const SHORT_TEXT = 256;
const MAX_INPUT = 8192;
const CC = /^[A-Z]{2}$/;
const ASN = /^AS(0|[1-9]\d{0,9})$/;
const shortText = z.string().max(SHORT_TEXT);

export const envelopeSchema = z.looseObject({
  data_format_version: z.literal('0.2.0', { error: 'must be "0.2.0" (OONI data format)' }),
  test_name: z.enum(KNOWN_TEST_NAMES, { error: 'is not a known test name' }),
  test_version: shortText.min(1),
  measurement_start_time: ooniTime,
  test_start_time: ooniTime,
  test_runtime: z.number().nonnegative(),
  probe_ip: z.literal('127.0.0.1', {
    error: 'must be "127.0.0.1": a probe never sends its own address (OONI\'s convention)',
  }),
  probe_cc: z.string().regex(CC, 'must be an ISO 3166-1 alpha-2 code such as "AZ" ("ZZ" if unknown)'),
  probe_asn: z.string().regex(ASN, 'must be "AS" and a number, such as "AS29049" ("AS0" if unknown)'),
  software_name: shortText.min(1),
  software_version: shortText.min(1),
  input: z.string().max(MAX_INPUT).nullable(),
  report_id: shortText.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  probe_network_name: shortText.nullable().optional(),
  resolver_ip: shortText.nullable().optional(),
  resolver_asn: shortText.nullable().optional(),
  test_keys: z.record(z.string(), z.unknown(), { error: 'must be an object' }),
});

export type Envelope = z.infer<typeof envelopeSchema>;

const TEST_NAMES: ReadonlySet<string> = new Set(KNOWN_TEST_NAMES);

/**
 * The envelope schema's checks written out by hand, for the fast path, where zod's general
 * machinery cost the main thread more per measurement than parsing the envelope did. It accepts a
 * subset of what `envelopeSchema` accepts (a test compares the two on many thousand mutated
 * envelopes) and every envelope a probe writes; when it says no, zod decides and words the error.
 */
export function isPlainEnvelope(m: Record<string, unknown>): boolean {
  return (
    m.data_format_version === '0.2.0' &&
    typeof m.test_name === 'string' &&
    TEST_NAMES.has(m.test_name) &&
    isText(m.test_version, 1, SHORT_TEXT) &&
    typeof m.measurement_start_time === 'string' &&
    isOoniTime(m.measurement_start_time) &&
    typeof m.test_start_time === 'string' &&
    isOoniTime(m.test_start_time) &&
    typeof m.test_runtime === 'number' &&
    Number.isFinite(m.test_runtime) &&
    m.test_runtime >= 0 &&
    m.probe_ip === '127.0.0.1' &&
    typeof m.probe_cc === 'string' &&
    CC.test(m.probe_cc) &&
    typeof m.probe_asn === 'string' &&
    ASN.test(m.probe_asn) &&
    isText(m.software_name, 1, SHORT_TEXT) &&
    isText(m.software_version, 1, SHORT_TEXT) &&
    (m.input === null || isText(m.input, 0, MAX_INPUT)) &&
    (m.report_id === undefined || isText(m.report_id, 0, SHORT_TEXT)) &&
    (m.annotations === undefined || isStringRecord(m.annotations)) &&
    isOptionalShortText(m.probe_network_name) &&
    isOptionalShortText(m.resolver_ip) &&
    isOptionalShortText(m.resolver_asn) &&
    isPlainObject(m.test_keys)
  );
}

function isText(value: unknown, min: number, max: number): value is string {
  return typeof value === 'string' && value.length >= min && value.length <= max;
}

function isOptionalShortText(value: unknown): boolean {
  return value === undefined || value === null || isText(value, 0, SHORT_TEXT);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function isStringRecord(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  for (const key in value) if (typeof value[key] !== 'string') return false;
  return true;
}

/**
 * "measurement.probe_ip: must be ..." — the path in the JS spelling a developer would type,
 * after `prefix`; an issue with the whole value is named `whole` (or just stated, without one).
 */
export function describeIssue(issue: z.core.$ZodIssue, prefix: string, whole?: string): string {
  let path = prefix;
  for (const key of issue.path) {
    path +=
      typeof key === 'number'
        ? `[${key}]`
        : /^[A-Za-z_$][\w$]*$/.test(String(key))
          ? `${path === '' ? '' : '.'}${String(key)}`
          : `[${JSON.stringify(String(key))}]`;
  }
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}`;
  } else if (issue.code === 'invalid_type' && issue.input === undefined) {
    message = 'is missing';
  }
  if (path === '') return whole ? `${whole}: ${message}` : message;
  return `${path}: ${message}`;
}
