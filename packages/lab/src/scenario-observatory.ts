/**
 * The observatory half of a scenario file (docs/lab.md, "Timelines"): `probes:` (each in its own
 * namespace, with a country, an ASN and a region), `censor` rules scoped to some of them, a
 * `timeline:` of censor changes, `churn:`, and the `incidents:` the observatory must open. Checked
 * the same way as the rest: every mistake names the file, the line and the key.
 */

import { parseDuration, parseSpan } from './duration.js';
import { canonicalEntity } from './entity.js';
import { type Fail, type RawRule, type RawScenario, TAKES_INPUT } from './scenario.js';
import type {
  CensorRule,
  ChurnSpec,
  IncidentExpectation,
  ObservatorySpec,
  ProbeNode,
  TimelineEntry,
} from './spec.js';

export const DEFAULT_INTERVAL_SECONDS = 5;
export const DEFAULT_EXPERIMENT_EVERY_SECONDS = 15;
/** How long a run goes on after its last timeline entry when the file gives no `duration`. */
export const DEFAULT_TAIL_SECONDS = 60;
/** Probes get addresses 10.K.1.3 … 10.K.1.254 on the router's client bridge. */
export const MAX_PROBES = 200;

type NormalizeRule = (rule: RawRule, path: PropertyKey[], fail: Fail) => CensorRule;

/** A string seed from the scenario's name, so churn picks the same probes every run. */
function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function normalizeObservatory(
  raw: RawScenario,
  rawProbes: NonNullable<RawScenario['probes']>,
  fail: Fail,
  normalizeRule: NormalizeRule,
): { spec: ObservatorySpec; censor: CensorRule[] } {
  if (raw.probe !== undefined) fail(['probe'], 'give probe: or probes:, not both');
  if (raw.expect !== undefined)
    fail(['expect'], 'a scenario with probes: states incidents:, not per-measurement verdicts');
  if (raw.incidents === undefined)
    fail(['incidents'], 'is required with probes: (write incidents: [] when none may open)');
  if (rawProbes.length > MAX_PROBES) fail(['probes'], `at most ${MAX_PROBES} probes`);

  const probes: ProbeNode[] = rawProbes.map((p, i) => {
    if (!p.region.startsWith(`${p.cc}-`)) fail(['probes', i, 'region'], `${p.region} is not in ${p.cc}`);
    const experiments = p.experiments ?? [];
    const inputs = p.inputs ?? [];
    const needing = experiments.filter((x) => TAKES_INPUT.has(x));
    if (needing.length > 0 && inputs.length === 0)
      fail(['probes', i, 'inputs'], `${needing.join(', ')} needs at least one input`);
    return { name: p.name, cc: p.cc, asn: p.asn, region: p.region, experiments, inputs };
  });
  const names = new Set<string>();
  probes.forEach((p, i) => {
    if (names.has(p.name)) fail(['probes', i, 'name'], `probe ${p.name} is listed twice`);
    names.add(p.name);
  });

  const seconds = (value: number | string, path: PropertyKey[]): number => {
    const s = parseDuration(value);
    return s === null ? fail(path, 'a duration such as 30s') : s;
  };
  const interval =
    raw.interval === undefined ? DEFAULT_INTERVAL_SECONDS : seconds(raw.interval, ['interval']);
  if (interval <= 0) fail(['interval'], 'must be more than 0');
  const experimentEvery =
    raw.experiment_every === undefined
      ? DEFAULT_EXPERIMENT_EVERY_SECONDS
      : seconds(raw.experiment_every, ['experiment_every']);

  /** A rule with its scope resolved to probe names. */
  const scoped = (rule: RawRule, path: PropertyKey[]): CensorRule => {
    const out = normalizeRule(rule, path, fail);
    if (rule.probes === undefined && rule.asn === undefined && rule.region === undefined) return out;
    rule.probes?.forEach((name, j) => {
      if (!names.has(name)) fail([...path, 'probes', j], `no probe is named ${name}`);
    });
    const asns = rule.asn === undefined ? undefined : [rule.asn].flat();
    const regions = rule.region === undefined ? undefined : [rule.region].flat();
    const chosen = probes.filter(
      (p) =>
        (rule.probes === undefined || rule.probes.includes(p.name)) &&
        (asns === undefined || asns.includes(p.asn)) &&
        (regions === undefined || regions.includes(p.region)),
    );
    if (chosen.length === 0) {
      // Blame the key that matches nobody by itself; else it is their combination.
      const alone = {
        probes: rule.probes !== undefined,
        asn: asns !== undefined && !probes.some((p) => asns.includes(p.asn)),
        region: regions !== undefined && !probes.some((p) => regions.includes(p.region)),
      };
      const key = alone.asn ? 'asn' : alone.region ? 'region' : alone.probes ? 'probes' : 'asn';
      fail(
        [...path, key],
        alone.asn || alone.region
          ? 'no probe of probes: is in this scope'
          : 'no probe of probes: is in all of probes, asn and region',
      );
    }
    if (out.action.kind === 'blockpage')
      fail(
        [...path, 'action'],
        'a blockpage cannot be scoped to some probes yet: leave probes/asn/region out',
      );
    return { ...out, probes: chosen.map((p) => p.name) };
  };

  const ruleNames = new Map<string, string>();
  const claimName = (rule: CensorRule, path: PropertyKey[]) => {
    if (!rule.name) return;
    if (ruleNames.has(rule.name))
      fail([...path, 'name'], `rule name ${rule.name} is also used at ${ruleNames.get(rule.name)}`);
    ruleNames.set(rule.name, path.map(String).join('.'));
  };

  const censor = (raw.censor ?? []).map((rule, i) => {
    const r = scoped(rule, ['censor', i]);
    claimName(r, ['censor', i]);
    return r;
  });

  // Walk the timeline as the runner will, so a lift of a rule that is not active is caught here.
  const active = new Set(censor.flatMap((r) => (r.name ? [r.name] : [])));
  let previous = 0;
  const timeline: TimelineEntry[] = (raw.timeline ?? []).map((entry, i) => {
    const at = seconds(entry.at, ['timeline', i, 'at']);
    if (at < previous) fail(['timeline', i, 'at'], 'the timeline must be in time order');
    previous = at;
    if (entry.censor === undefined && entry.lift === undefined)
      fail(['timeline', i], 'needs censor: (rules to apply) or lift: (rule names, or all)');
    let lift: string[] | 'all' = [];
    if (entry.lift === 'all' || (Array.isArray(entry.lift) && entry.lift.includes('all'))) {
      lift = 'all';
      active.clear();
    } else if (entry.lift) {
      entry.lift.forEach((name, j) => {
        if (!active.has(name))
          fail(
            ['timeline', i, 'lift', j],
            ruleNames.has(name) ? `rule ${name} is not active at ${at}s` : `no rule is named ${name}`,
          );
        active.delete(name);
      });
      lift = entry.lift;
    }
    const rules = (entry.censor ?? []).map((rule, j) => {
      const r = scoped(rule, ['timeline', i, 'censor', j]);
      claimName(r, ['timeline', i, 'censor', j]);
      if (r.name) active.add(r.name);
      return r;
    });
    return { at, censor: rules, lift };
  });

  let churn: ChurnSpec | null = null;
  if (raw.churn) {
    const c = raw.churn;
    if (c.probes >= probes.length)
      fail(['churn', 'probes'], `must be fewer than the ${probes.length} probes (churn is not an outage)`);
    const offline = seconds(c.offline, ['churn', 'offline']);
    const every = seconds(c.every, ['churn', 'every']);
    if (offline <= 0) fail(['churn', 'offline'], 'must be more than 0');
    if (every <= offline) fail(['churn', 'every'], 'must be longer than offline');
    churn = { probes: c.probes, offline, every, seed: c.seed ?? seedOf(raw.name) };
  }

  const lastEvent = timeline.length > 0 ? timeline[timeline.length - 1]!.at : 0;
  const duration =
    raw.duration === undefined ? lastEvent + DEFAULT_TAIL_SECONDS : seconds(raw.duration, ['duration']);
  if (duration <= lastEvent)
    fail(['duration'], `must be longer than the last timeline entry (${lastEvent}s)`);

  const incidents: IncidentExpectation[] = raw.incidents!.map((e, i) => {
    const path = ['incidents', i];
    let entity: string | undefined;
    if (e.entity !== undefined) {
      const c = canonicalEntity(e.entity);
      if ('error' in c) fail([...path, 'entity'], c.error);
      else entity = c.entity;
    }
    // The cut: the entry that applied the named rule, else the first entry that applies anything.
    const cutIndex =
      e.cut !== undefined
        ? timeline.findIndex((t) => t.censor.some((r) => r.name === e.cut))
        : timeline.findIndex((t) => t.censor.length > 0);
    if (e.cut !== undefined && cutIndex < 0)
      fail([...path, 'cut'], `no timeline entry applies a rule named ${e.cut}`);
    if (cutIndex < 0 && e.opened_within !== undefined)
      fail([...path, 'opened_within'], 'the timeline applies no rule to measure it from');
    const cut = cutIndex < 0 ? undefined : timeline[cutIndex]!;
    const cutNames = new Set(cut?.censor.flatMap((r) => (r.name ? [r.name] : [])) ?? []);
    const restore =
      cutIndex < 0
        ? undefined
        : timeline
            .slice(cutIndex + 1)
            .find((t) => t.lift === 'all' || t.lift.some((name) => cutNames.has(name)));
    if (e.closed_within !== undefined && restore === undefined)
      fail(
        [...path, 'closed_within'],
        'no later timeline entry lifts the cut (name its rules and lift them)',
      );
    const span = (value: number | string, key: string): number => {
      const s = parseSpan(value, interval);
      return s === null ? fail([...path, key], 'a duration or "N intervals"') : s;
    };
    return {
      ...(entity !== undefined ? { entity } : {}),
      type: e.type,
      extent: e.extent,
      ...(e.services !== undefined
        ? { services: [...new Set(e.services.map((s) => s.toLowerCase()))].sort() }
        : {}),
      ...(e.asns !== undefined ? { asns: [...new Set(e.asns)].sort((a, b) => a - b) } : {}),
      ...(e.opened_within !== undefined ? { openedWithin: span(e.opened_within, 'opened_within') } : {}),
      ...(e.closed_within !== undefined ? { closedWithin: span(e.closed_within, 'closed_within') } : {}),
      cutAt: cut?.at ?? 0,
      restoreAt: restore?.at ?? null,
    };
  });

  return {
    spec: { probes, timeline, churn, duration, interval, experimentEvery, incidents },
    censor,
  };
}
