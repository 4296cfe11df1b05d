/** The timeline's schedule: which rules the router holds when, churn, and carrying it out on time. */
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../src/scenario.js';
import { planSchedule, runSchedule, type ScheduleClock, type ScheduledEvent } from '../src/timeline.js';

const spec = parseScenario(
  `name: t
description: d
probes:
  - { name: p1, cc: AZ, asn: 1, region: AZ-BA }
  - { name: p2, cc: AZ, asn: 2, region: AZ-GA }
  - { name: p3, cc: AZ, asn: 3, region: AZ-SM }
  - { name: p4, cc: AZ, asn: 3, region: AZ-SM }
censor:
  - { name: base, match: { sni: a.example }, action: drop }
timeline:
  - { at: 30s, censor: [{ name: cut, match: { all: true }, action: drop, asn: 3 }] }
  - { at: 60s, censor: [{ name: wa, match: { dst: e1.whatsapp.net }, action: drop, probes: [p1] }] }
  - { at: 90s, lift: [cut] }
  - { at: 120s, lift: all }
churn: { probes: 2, offline: 10s, every: 40s }
duration: 150s
incidents: []
`,
  't.yaml',
);

const ruleNames = (e: ScheduledEvent) => (e.kind === 'censor' ? e.rules.map((r) => r.name) : []);

describe('timeline schedule', () => {
  const events = planSchedule(spec.observatory!, spec.censor);

  it('gives the router the whole rule set after each step', () => {
    const censor = events.filter((e) => e.kind === 'censor');
    expect(censor.map((e) => [e.at, ruleNames(e)])).toEqual([
      [30, ['base', 'cut']],
      [60, ['base', 'cut', 'wa']],
      [90, ['base', 'wa']],
      [120, []],
    ]);
    expect(censor[0]!.description).toBe('apply cut: all → drop [for p3, p4]');
    expect(censor[2]!.description).toBe('lift cut');
  });

  it('takes distinct probes offline and brings each back before the run ends', () => {
    const churn = events.filter((e) => e.kind !== 'censor') as Extract<ScheduledEvent, { probe: string }>[];
    // Every 40 s while a whole offline spell fits: at 40, 80 and 120 s, two probes each.
    expect(churn.filter((e) => e.kind === 'offline').map((e) => e.at)).toEqual([40, 40, 80, 80, 120, 120]);
    for (const at of [40, 80, 120]) {
      const down = churn.filter((e) => e.kind === 'offline' && e.at === at).map((e) => e.probe);
      expect(new Set(down).size).toBe(2);
      const up = churn.filter((e) => e.kind === 'online' && e.at === at + 10).map((e) => e.probe);
      expect(up.sort()).toEqual([...down].sort());
    }
    // Seeded by the scenario: the same probes every time.
    expect(planSchedule(spec.observatory!, spec.censor)).toEqual(events);
    // In time order, censor changes first at equal times.
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at)].sort((a, b) => a - b));
    expect(events.filter((e) => e.at === 120)[0]!.kind).toBe('censor');
  });

  it('carries each event out at its time, never early, and records when it took effect', async () => {
    let now = 0;
    const clock: ScheduleClock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const seen: [number, string][] = [];
    const applied = await runSchedule(
      events.slice(0, 3),
      async (e) => {
        seen.push([now / 1000, e.kind]);
        now += 500; // applying takes half a second
      },
      clock,
    );
    expect(seen).toEqual([
      [30, 'censor'],
      [40, 'offline'],
      [40.5, 'offline'],
    ]);
    expect(applied.map((a) => [a.plannedAt, a.appliedAt])).toEqual([
      [30, 30.5],
      [40, 40.5],
      [40, 41],
    ]);
  });

  it('records a failing step and goes on; stops when aborted', async () => {
    let now = 0;
    const clock: ScheduleClock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const controller = new AbortController();
    const applied = await runSchedule(
      events.slice(0, 4),
      async (e) => {
        if (e.at === 30) throw new Error('nft said no');
        if (e.at === 40 && e.kind === 'online') controller.abort();
        if (e.at === 50) controller.abort();
      },
      clock,
      controller.signal,
    );
    expect(applied[0]).toMatchObject({ plannedAt: 30, error: 'nft said no' });
    expect(applied.slice(1).every((a) => a.error === undefined)).toBe(true);
    expect(applied.map((a) => a.plannedAt)).toEqual([30, 40, 40, 50]);
    const stopped = await runSchedule(events, async () => controller.abort(), clock, controller.signal);
    expect(stopped).toEqual([]);
  });
});
