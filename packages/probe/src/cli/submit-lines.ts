/**
 * Lines of a JSONL file given to `pharos-probe submit`: each must be a JSON object with the OONI
 * data format's envelope basics (df-000), so what this probe signs is a measurement and not
 * whatever happened to be in the file. Only the basics: OONI Probe's own measurements, ours, and
 * those of other tools that follow the format all pass; the collector checks the rest.
 */
import { z } from 'zod';

const OONI_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

const ooniTime = z.string().regex(OONI_TIME, 'expected "YYYY-MM-DD hh:mm:ss" (UTC)');

const envelope = z.looseObject({
  data_format_version: z.literal('0.2.0', 'expected "0.2.0" (the OONI data format in use)'),
  test_name: z.string().regex(/^[a-z0-9_]+$/, 'expected an OONI test name such as "web_connectivity"'),
  test_version: z.string().min(1, 'must not be empty'),
  measurement_start_time: ooniTime,
  test_start_time: ooniTime,
  test_runtime: z.number().nonnegative('expected a number of seconds'),
  input: z.string().nullable(),
  probe_cc: z
    .string()
    .regex(/^[A-Z]{2}$/, 'expected a two-letter country code in capitals, e.g. "AZ" ("ZZ" if unknown)'),
  probe_asn: z
    .string()
    .regex(/^AS(0|[1-9]\d{0,9})$/, 'expected an AS number such as "AS29049" ("AS0" if unknown)'),
  // A volunteer's address must never travel in what this probe signs: OONI writes 127.0.0.1.
  probe_ip: z.literal(
    '127.0.0.1',
    'must be "127.0.0.1": any other value is a real address, which would expose whoever measured',
  ),
  software_name: z.string().min(1, 'must not be empty'),
  software_version: z.string().min(1, 'must not be empty'),
  test_keys: z.record(z.string(), z.unknown(), 'expected an object'),
});

export type LineCheck = { ok: true; measurement: Record<string, unknown> } | { ok: false; reason: string };

export function checkSubmitLine(line: string): LineCheck {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `not valid JSON (${(err as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      reason: `not a JSON object but ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
    };
  }
  const parsed = envelope.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    const missing = issue.code === 'invalid_type' && (value as Record<string, unknown>)[field] === undefined;
    return {
      ok: false,
      reason: missing
        ? `not an OONI measurement: "${field}" is missing`
        : `not an OONI measurement: "${field}": ${issue.message}`,
    };
  }
  return { ok: true, measurement: value as Record<string, unknown> };
}
