/**
 * An incident's life across detection passes: opened, updated, ended, reopened; late data moving
 * its start earlier; a dismissed incident left alone; the same pass twice changing nothing.
 */
import { describe, expect, it } from 'vitest';
import { buildIncidents } from '../src/incidents/build.js';
import { reconcile } from '../src/incidents/reconcile.js';
import type { Incident, IncidentChange } from '../src/incidents/types.js';
import { countryOf, T0, win } from './incidents-fixtures.js';

const at = (s: number) => new Date((T0 + s) * 1000);
const FUZ = 'region:AZ-FUZ+asn:29049';

/** What the store would hold after these changes. */
function after(stored: Incident[], changes: IncidentChange[]): Incident[] {
  const byId = new Map(stored.map((i) => [i.id, i]));
  for (const c of changes) byId.set(c.incident, c.snapshot);
  return [...byId.values()];
}

function pass(
  stored: Incident[],
  windows: Parameters<typeof buildIncidents>[0],
  now: number,
  window?: { from: number; until: number },
) {
  const changes = reconcile(stored, buildIncidents(windows, { countryOf }), { now: at(now), window });
  return { changes, stored: after(stored, changes) };
}

describe('an incident through its life', () => {
  it('opens, updates, ends and reopens, keeping its id', () => {
    // 06:05: Fuzuli's probes went silent at 06:00.
    const p1 = pass([], [win(FUZ, 'beacon.active', T0, null, { expected: 3 })], 300);
    expect(p1.changes.map((c) => c.change)).toEqual(['opened']);
    const opened = p1.changes[0]!.snapshot;
    expect(opened).toMatchObject({
      status: 'ongoing',
      review: 'unreviewed',
      start: '2023-09-19T06:00:00.000Z',
      end: null,
      opened_at: '2023-09-19T06:05:00.000Z',
    });
    expect(opened.id).toMatch(/^inc_[0-9a-f]{20}$/);
    expect(p1.changes[0]!.by).toBe('detector');

    // The same pass again: nothing new to say.
    expect(pass(p1.stored, [win(FUZ, 'beacon.active', T0, null, { expected: 3 })], 360).changes).toEqual([]);

    // 06:10: BGP agrees; more confidence, same incident.
    const p2 = pass(
      p1.stored,
      [
        win(FUZ, 'beacon.active', T0, null, { expected: 3 }),
        win(FUZ, 'bgp.visible_slash24', T0 + 300, null, { step: 300 }),
      ],
      600,
    );
    expect(p2.changes.map((c) => [c.change, c.incident])).toEqual([['updated', opened.id]]);
    expect(p2.changes[0]!.snapshot.confidence).toBeGreaterThan(opened.confidence);
    expect(p2.changes[0]!.snapshot.opened_at).toBe(opened.opened_at);

    // 07:00: back.
    const back = [
      win(FUZ, 'beacon.active', T0, T0 + 3600, { expected: 3 }),
      win(FUZ, 'bgp.visible_slash24', T0 + 300, T0 + 3600, { step: 300 }),
    ];
    const p3 = pass(p2.stored, back, 3700);
    expect(p3.changes.map((c) => c.change)).toEqual(['ended']);
    expect(p3.changes[0]!.snapshot).toMatchObject({
      id: opened.id,
      status: 'ended',
      end: '2023-09-19T07:00:00.000Z',
    });

    // 07:20: cut again, twenty minutes later: the same incident, reopened.
    const p4 = pass(p3.stored, [...back, win(FUZ, 'beacon.active', T0 + 4800, null, { expected: 3 })], 4900);
    expect(p4.changes.map((c) => [c.change, c.incident])).toEqual([['reopened', opened.id]]);
    expect(p4.changes[0]!.snapshot).toMatchObject({ status: 'ongoing', end: null });
  });

  it('moves the start earlier when late data shows it began before (a re-run of the same window)', () => {
    const window = { from: T0 - 3600, until: T0 + 1800 };
    const p1 = pass([], [win(FUZ, 'beacon.active', T0 + 600, null, { expected: 3 })], 1800, window);
    const id = p1.changes[0]!.incident;
    expect(p1.changes[0]!.snapshot.start).toBe('2023-09-19T06:10:00.000Z');
    // The outboxes uploaded late: the probes were silent from 06:00.
    const p2 = pass(p1.stored, [win(FUZ, 'beacon.active', T0, null, { expected: 3 })], 2000, window);
    expect(p2.changes.map((c) => [c.change, c.incident])).toEqual([['updated', id]]);
    expect(p2.changes[0]!.snapshot.start).toBe('2023-09-19T06:00:00.000Z');
  });

  it('ends an ongoing incident the re-run no longer sees at the end of the window it looked at', () => {
    const window = { from: T0 - 3600, until: T0 + 1800 };
    const p1 = pass([], [win('asn:29049', 'beacon.active', T0, null)], 900, window);
    const p2 = pass(p1.stored, [], 1800, window);
    expect(p2.changes.map((c) => c.change)).toEqual(['ended']);
    expect(p2.changes[0]!.snapshot).toMatchObject({ status: 'ended', end: '2023-09-19T06:30:00.000Z' });
  });

  it('never reopens or updates a dismissed incident', () => {
    const p1 = pass([], [win('asn:29049', 'beacon.active', T0, T0 + 600)], 700);
    const dismissed = p1.stored.map((i) => ({ ...i, review: 'dismissed' as const }));
    const p2 = pass(dismissed, [win('asn:29049', 'beacon.active', T0, null)], 900);
    expect(p2.changes).toEqual([]);
  });

  it('gives the same id to the same incident found by two independent passes', () => {
    const ws = [win('asn:28787+platform:whatsapp', 'measurement.blocked', T0, null, { step: 600 })];
    expect(pass([], ws, 600).changes[0]!.incident).toBe(pass([], ws, 900).changes[0]!.incident);
  });
});

describe('an incident that grows', () => {
  it('a blackout seen first on one network, then on the whole country, stays one incident', () => {
    // First pass: only AS31721's probes had beaconed in the step before the cut.
    const p1 = pass([], [win('asn:31721', 'beacon.disconnected', T0, null, { step: 5, expected: 3 })], 10);
    expect(p1.changes.map((c) => c.change)).toEqual(['opened']);
    const id = p1.changes[0]!.incident;
    // Next pass: every network and the country are silent.
    const p2 = pass(
      p1.stored,
      [
        win('asn:31721', 'beacon.disconnected', T0, null, { step: 5, expected: 3 }),
        win('asn:29049', 'beacon.disconnected', T0 + 5, null, { step: 5, expected: 3 }),
        win('country:AZ', 'beacon.disconnected', T0 + 5, null, { step: 5, expected: 8 }),
      ],
      15,
    );
    expect(p2.changes.map((c) => [c.change, c.incident])).toEqual([['updated', id]]);
    expect(p2.stored).toHaveLength(1);
    expect(p2.stored[0]!.scope.entity).toBe('country:AZ');
  });

  it('a network cut does not take over a service blocked around it', () => {
    const news = win('asn:29049+category:NEWS', 'measurement.blocked_fraction', T0 - 86400, null, {
      step: 600,
    });
    const p1 = pass([], [news], 0);
    const p2 = pass(
      p1.stored,
      [news, win('asn:29049', 'beacon.disconnected', T0, null, { step: 60, expected: 5 })],
      120,
    );
    expect(p2.changes.map((c) => c.change)).toEqual(['opened']);
    expect(p2.stored.map((i) => i.shutdown_extent).sort()).toEqual(['Full network', 'Service-based']);
  });
});
