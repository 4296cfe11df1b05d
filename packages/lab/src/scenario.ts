/**
 * Scenario files (shared/lab/SCENARIOS.md, extended in docs/lab.md): YAML or JSON in, a
 * normalized ScenarioSpec out. Every mistake is reported with the file, the line and the key, so
 * that a scenario written by someone else can be fixed without reading this code.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMechanism } from '@pharos/core';
import { isMap, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { DURATION_PATTERN, INTERVALS_PATTERN } from './duration.js';
import { normalizeObservatory } from './scenario-observatory.js';
import type { CensorAction, CensorMatch, CensorRule, Expectation, ScenarioSpec, SiteSpec } from './spec.js';

export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly key: string,
    readonly problem: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${key ? `${key}: ` : ''}${problem}`);
    this.name = 'ScenarioError';
  }
}

const hostname = z
  .string()
  .min(1)
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i, 'not a valid host name');

const byteSize = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+(\.\d+)?\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/, 'a size such as 32MiB, 512KiB or a number of bytes'),
]);

const SiteSchema = z.strictObject({
  host: hostname,
  http: z.boolean().optional(),
  https: z.boolean().optional(),
  body: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  addresses: z.number().int().min(1).max(16).optional(),
  cert: z.enum(['valid', 'expired', 'wrong-name', 'unknown-ca']).optional(),
  dns: z.enum(['ok', 'nxdomain', 'localhost']).optional(),
  redirect: z.url({ protocol: /^https?$/ }).optional(),
  size: byteSize.optional(),
  geo_dns: z.boolean().optional(),
  asn: z.number().int().min(1).max(4294967295).optional(),
  rate: z
    .string()
    .regex(/^\d+(\.\d+)?(bit|kbit|mbit|gbit)$/, 'a rate such as 1mbit')
    .optional(),
});

const MatchSchema = z.strictObject({
  dns_name: hostname.optional(),
  sni: hostname.optional(),
  host: hostname.optional(),
  dst: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  all: z.literal(true).optional(),
});

const ActionSchema = z.union([
  z.enum(['nxdomain', 'refused', 'servfail', 'drop', 'reset']),
  z.strictObject({ spoof: z.string().min(1) }),
  z.strictObject({ blockpage: z.string().min(1) }),
  z.strictObject({
    throttle: z.string().regex(/^\d+(\.\d+)?(bit|kbit|mbit|gbit)$/, 'a rate such as 128kbit'),
  }),
  z.strictObject({ loss: z.number().gt(0, 'more than 0 percent').max(100, 'at most 100 percent') }),
]);

const RULE_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const AsnNumber = z.number().int().min(1).max(4294967295);
const RegionCode = z.string().regex(/^[A-Z]{2}-[A-Z0-9]{1,3}$/, 'an ISO 3166-2 code such as AZ-FUZ');

const RuleSchema = z.strictObject({
  match: MatchSchema,
  action: ActionSchema,
  via: z.enum(['resolver', 'path']).optional(),
  // Pharos extensions (issue 5): a name for `lift`, and a scope among the scenario's `probes`.
  name: z.string().regex(RULE_NAME, 'must be kebab-case (a-z, 0-9 and single dashes)').optional(),
  probes: z.array(z.string().min(1)).min(1).optional(),
  asn: z.union([AsnNumber, z.array(AsnNumber).min(1)]).optional(),
  region: z.union([RegionCode, z.array(RegionCode).min(1)]).optional(),
});

const Blocking = z.union([
  z.literal(false),
  z.enum(['dns', 'tcp_ip', 'http-failure', 'http-diff']),
  z.null(),
]);

/** Experiments the probe has; scenario files may only name these. */
export const EXPERIMENTS = [
  'web_connectivity',
  'whatsapp',
  'telegram',
  'signal',
  'facebook_messenger',
  'tiktok',
  'youtube',
  'instagram',
  'facebook',
  'x',
  'throttling',
] as const;
/** Experiments that measure the probe's inputs (URLs); the others measure fixed endpoints. */
export const TAKES_INPUT: ReadonlySet<string> = new Set(['web_connectivity', 'throttling']);

const ExpectSchema = z.strictObject({
  experiment: z.enum(EXPERIMENTS).optional(),
  input: z.string().min(1).optional(),
  verdict: z.enum(['ok', 'blocked', 'throttled', 'down']).nullable().optional(),
  blocking: Blocking.optional(),
  accessible: z.boolean().nullable().optional(),
  mechanism: z.string().nullable().optional(),
  dns_consistency: z.enum(['consistent', 'inconsistent']).nullable().optional(),
  confirmed: z.boolean().optional(),
});

const Duration = z.union([
  z.number().nonnegative(),
  z.string().regex(DURATION_PATTERN, 'a duration such as 30s, 2m or 500ms'),
]);
/** A time allowance: a duration, or a number of beacon intervals (`2 intervals`). */
const Span = z.union([
  z.number().nonnegative(),
  z
    .string()
    .refine(
      (v) => DURATION_PATTERN.test(v.trim()) || INTERVALS_PATTERN.test(v.trim()),
      'a duration such as 10s, or a number of beacon intervals such as "2 intervals"',
    ),
]);

const ProbeNodeSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case (a-z, 0-9 and single dashes)'),
  cc: z.string().regex(/^[A-Z]{2}$/, 'a two-letter country code such as AZ'),
  asn: z.number().int().min(1).max(4294967295),
  region: z.string().regex(/^[A-Z]{2}-[A-Z0-9]{1,3}$/, 'an ISO 3166-2 code such as AZ-FUZ'),
  experiments: z.array(z.enum(EXPERIMENTS)).optional(),
  inputs: z.array(z.url({ protocol: /^https?$/ })).optional(),
});

const TimelineEntrySchema = z.strictObject({
  at: Duration,
  censor: z.array(RuleSchema).min(1).optional(),
  lift: z.union([z.literal('all'), z.array(z.string().min(1)).min(1)]).optional(),
});

const ChurnSchema = z.strictObject({
  probes: z.number().int().min(1),
  offline: Duration,
  every: Duration,
  seed: z.number().int().optional(),
});

const IncidentExpectSchema = z.strictObject({
  entity: z.string().min(1).optional(),
  type: z.enum(['Shutdown', 'Throttle']),
  extent: z.enum(['Full network', 'Service-based']),
  services: z.array(z.string().min(1)).optional(),
  asns: z.array(z.number().int().min(1).max(4294967295)).min(1).optional(),
  cut: z.string().min(1).optional(),
  opened_within: Span.optional(),
  closed_within: Span.optional(),
});

const ScenarioSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'must be kebab-case (a-z, 0-9 and single dashes)'),
  description: z.string().min(1),
  sites: z.array(SiteSchema).optional(),
  censor: z.array(RuleSchema).optional(),
  // Pharos extensions (issue 5): several probes, the observatory server and a timeline.
  probes: z.array(ProbeNodeSchema).min(1).optional(),
  timeline: z.array(TimelineEntrySchema).optional(),
  churn: ChurnSchema.optional(),
  duration: Duration.optional(),
  interval: Duration.optional(),
  experiment_every: Duration.optional(),
  incidents: z.array(IncidentExpectSchema).optional(),
  probe: z
    .strictObject({
      cc: z
        .string()
        .regex(/^[A-Z]{2}$/, 'a two-letter country code such as AZ')
        .optional(),
      asn: z.number().int().min(0).max(4294967295).optional(),
      experiments: z.array(z.enum(EXPERIMENTS)).min(1).optional(),
      inputs: z.array(z.url({ protocol: /^https?$/ })).optional(),
      fingerprints: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  // At least one; checked after probe, so a file missing both hears about probe first.
  expect: z.array(ExpectSchema).optional(),
});

export type RawScenario = z.infer<typeof ScenarioSchema>;
export type RawRule = z.infer<typeof RuleSchema>;

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
};

function parseSize(value: number | string): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(value)!;
  return Math.round(Number(m[1]) * (SIZE_UNITS[m[2] || 'B'] ?? 1));
}

/** Read and validate one scenario file. Throws ScenarioError naming file, line and key. */
export async function loadScenario(file: string): Promise<ScenarioSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ScenarioError(file, null, '', `cannot read the file (${(err as Error).message})`);
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file: string): ScenarioSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined): number | null =>
    node?.range ? lineCounter.linePos(node.range[0]).line : null;

  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw new ScenarioError(
      file,
      lineCounter.linePos(e.pos[0]).line,
      '',
      `not valid YAML/JSON: ${e.message}`,
    );
  }
  if (!isMap(doc.contents)) {
    throw new ScenarioError(
      file,
      lineOf(doc.contents),
      '',
      'a scenario must be a mapping with name, probe and expect',
    );
  }

  /** Where a path points in the file, for messages: the node's own line, else its parent's. */
  const locate = (path: PropertyKey[]): number | null => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node) return lineOf(node);
    }
    return null;
  };
  const keyName = (path: PropertyKey[]): string =>
    path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');

  const parsed = ScenarioSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      const unknown = issue.keys[0]!;
      const map = doc.getIn(issue.path as (string | number)[], true) as YAMLMap | undefined;
      const pair =
        map && isMap(map)
          ? map.items.find((p) => (p.key as { value?: unknown })?.value === unknown)
          : undefined;
      const line = lineOf(pair?.key as Node | undefined) ?? locate(issue.path);
      throw new ScenarioError(file, line, keyName([...issue.path, unknown]), 'unknown key');
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      throw new ScenarioError(file, locate(issue.path), keyName(issue.path), 'is required');
    }
    throw new ScenarioError(file, locate(issue.path), keyName(issue.path), issue.message);
  }

  const raw = parsed.data;
  const fail = (path: PropertyKey[], problem: string): never => {
    throw new ScenarioError(file, locate(path), keyName(path), problem);
  };
  return normalize(raw, file, fail);
}

function normalize(
  raw: RawScenario,
  file: string,
  fail: (path: PropertyKey[], problem: string) => never,
): ScenarioSpec {
  const sites: SiteSpec[] = (raw.sites ?? []).map((s) => ({
    host: s.host.toLowerCase(),
    http: s.http ?? true,
    https: s.https ?? true,
    ...(s.body !== undefined ? { body: s.body } : {}),
    status: s.status ?? 200,
    addresses: s.addresses ?? 1,
    cert: s.cert ?? 'valid',
    dns: s.dns ?? 'ok',
    ...(s.redirect !== undefined ? { redirect: s.redirect } : {}),
    ...(s.size !== undefined ? { size: parseSize(s.size) } : {}),
    geoDns: s.geo_dns ?? false,
    ...(s.asn !== undefined ? { asn: s.asn } : {}),
    ...(s.rate !== undefined ? { rate: s.rate } : {}),
  }));
  const seen = new Set<string>();
  sites.forEach((s, i) => {
    if (seen.has(s.host)) fail(['sites', i, 'host'], `site ${s.host} is listed twice`);
    seen.add(s.host);
  });

  if (raw.probes !== undefined) {
    const observatory = normalizeObservatory(raw, raw.probes, fail, normalizeRule);
    const first = observatory.spec.probes[0]!;
    return {
      name: raw.name,
      description: raw.description,
      file,
      sites,
      censor: observatory.censor,
      probe: {
        cc: first.cc,
        asn: first.asn,
        experiments: first.experiments,
        inputs: first.inputs,
        fingerprints: [],
      },
      expect: [],
      observatory: observatory.spec,
    };
  }
  for (const key of ['timeline', 'churn', 'duration', 'interval', 'experiment_every', 'incidents'] as const)
    if (raw[key] !== undefined) fail([key], 'goes with probes: (several probes and the observatory)');
  if (raw.probe === undefined) fail(['probe'], 'is required');
  if (raw.expect === undefined) fail(['expect'], 'is required');
  if (raw.expect!.length === 0) fail(['expect'], 'needs at least one expectation');
  const probe = raw.probe!;
  const censor = (raw.censor ?? []).map((rule, i) => {
    for (const key of ['probes', 'asn', 'region'] as const)
      if (rule[key] !== undefined)
        fail(['censor', i, key], 'scopes a rule among probes: (a timeline scenario)');
    return normalizeRule(rule, ['censor', i], fail);
  });

  const inputs = probe.inputs ?? [];
  const experiments = probe.experiments ?? ['web_connectivity'];
  if (inputs.length === 0 && experiments.some((x) => TAKES_INPUT.has(x))) {
    fail(
      ['probe', 'inputs'],
      `${experiments.filter((x) => TAKES_INPUT.has(x)).join(', ')} needs at least one input`,
    );
  }
  const expect: Expectation[] = raw.expect!.map((e, i) => {
    const experiment = e.experiment ?? 'web_connectivity';
    if (!experiments.includes(experiment)) {
      fail(
        ['expect', i, 'experiment'],
        `${experiment} is not one of probe.experiments (${experiments.join(', ')})`,
      );
    }
    if (TAKES_INPUT.has(experiment)) {
      if (e.input === undefined) fail(['expect', i, 'input'], `is required for ${experiment}`);
      if (!inputs.includes(e.input)) fail(['expect', i, 'input'], `${e.input} is not one of probe.inputs`);
    } else if (e.input !== undefined) {
      fail(['expect', i, 'input'], `${experiment} measures its own endpoints and takes no input`);
    }
    const webOnly = (['blocking', 'accessible', 'dns_consistency', 'confirmed'] as const).filter(
      (k) => e[k] !== undefined,
    );
    if (experiment !== 'web_connectivity' && webOnly.length > 0) {
      fail(
        ['expect', i, webOnly[0]!],
        `belongs to web_connectivity expectations; use verdict for ${experiment}`,
      );
    }
    if (experiment === 'web_connectivity' && e.verdict !== undefined) {
      fail(['expect', i, 'verdict'], 'web_connectivity states blocking and accessible, not verdict');
    }
    if (e.mechanism && !isMechanism(e.mechanism)) {
      fail(
        ['expect', i, 'mechanism'],
        `unknown mechanism "${e.mechanism}" (see docs/lab.md for the taxonomy)`,
      );
    }
    const out: Expectation = { experiment, input: e.input ?? null };
    for (const key of [
      'blocking',
      'accessible',
      'mechanism',
      'dns_consistency',
      'confirmed',
      'verdict',
    ] as const) {
      if (e[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = e[key];
    }
    return out;
  });

  return {
    name: raw.name,
    description: raw.description,
    file,
    sites,
    censor,
    probe: {
      cc: probe.cc ?? 'ZZ',
      asn: probe.asn ?? 0,
      experiments,
      inputs,
      // Relative to the scenario file, so a suite can ship its own fingerprints beside it.
      fingerprints: (probe.fingerprints ?? []).map((f) => path.resolve(path.dirname(file), f)),
    },
    expect,
  };
}

/** Which actions make sense for which match; anything else is a mistake in the file. */
const ACTIONS_FOR: Record<CensorMatch['kind'], CensorAction['kind'][]> = {
  dns_name: ['nxdomain', 'refused', 'servfail', 'drop', 'spoof'],
  sni: ['drop', 'reset', 'throttle'],
  host: ['drop', 'reset', 'blockpage'],
  dst: ['drop', 'reset', 'throttle', 'loss'],
  all: ['drop', 'throttle', 'loss'],
};

const SPOOF_KEYWORDS = new Set(['bogon', 'localhost', 'proxy']);
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export type Fail = (path: PropertyKey[], problem: string) => never;

/** A rule as the kernel plan needs it; its scope (probes, asn, region) is resolved by the caller. */
export function normalizeRule(rule: RawRule, path: PropertyKey[], fail: Fail): CensorRule {
  const m = rule.match;
  const given = (['dns_name', 'sni', 'host', 'dst', 'all'] as const).filter((k) => m[k] !== undefined);
  if (given.length !== 1) {
    fail([...path, 'match'], 'needs exactly one of dns_name, sni, host, dst, all');
  }
  if (m.port !== undefined && m.dst === undefined)
    fail([...path, 'match', 'port'], 'port goes only with dst');
  let match: CensorMatch;
  if (m.dns_name) match = { kind: 'dns_name', name: m.dns_name.toLowerCase() };
  else if (m.sni) match = { kind: 'sni', name: m.sni.toLowerCase() };
  else if (m.host) match = { kind: 'host', name: m.host.toLowerCase() };
  else if (m.dst) match = { kind: 'dst', target: m.dst.toLowerCase(), ...(m.port ? { port: m.port } : {}) };
  else match = { kind: 'all' };

  const a = rule.action;
  let action: CensorAction;
  if (typeof a === 'string') action = { kind: a };
  else if ('spoof' in a) {
    if (!SPOOF_KEYWORDS.has(a.spoof) && !IPV4.test(a.spoof)) {
      fail([...path, 'action', 'spoof'], 'an IPv4 address or one of bogon, localhost, proxy');
    }
    action = { kind: 'spoof', address: a.spoof };
  } else if ('blockpage' in a) action = { kind: 'blockpage', html: a.blockpage };
  else if ('throttle' in a) action = { kind: 'throttle', rate: a.throttle };
  else action = { kind: 'loss', percent: a.loss };

  if (!ACTIONS_FOR[match.kind].includes(action.kind)) {
    fail(
      [...path, 'action'],
      `${action.kind} does not apply to a ${match.kind} match (allowed: ${ACTIONS_FOR[match.kind].join(', ')})`,
    );
  }
  if (rule.via !== undefined && match.kind !== 'dns_name')
    fail([...path, 'via'], 'via applies to dns_name rules only');
  return { match, action, via: rule.via ?? 'resolver', ...(rule.name ? { name: rule.name } : {}) };
}
