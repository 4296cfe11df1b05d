/** Judging what the observatory opened against what a timeline scenario expects. */
import { describe, expect, it } from 'vitest';
import { type IncidentPoll, judgeIncidents, type ObservedIncident } from '../src/incident-check.js';
import type { IncidentExpectation } from '../src/spec.js';

const START = Date.parse('2026-11-23T00:00:00Z');
const iso = (s: number) => new Date(START + s * 1000).toISOString();

function incident(over: Partial<ObservedIncident> & { opened: number; updated?: number }): ObservedIncident {
  return {
    id: 'i1',
    scope: { entity: 'region:AZ-FUZ+asn:29049', asns: [29049], services: [] },
    shutdown_type: 'Shutdown',
    shutdown_extent: 'Full network',
    status: 'ongoing',
    start: iso(over.opened - 3),
    end: null,
    opened_at: iso(over.opened),
    updated_at: iso(over.updated ?? over.opened),
    ...over,
  };
}

const cut: IncidentExpectation = {
  // Written in another order than the server's: compared canonically.
  entity: 'region:AZ-FUZ+asn:29049',
  type: 'Shutdown',
  extent: 'Full network',
  openedWithin: 10,
  closedWithin: 10,
  cutAt: 45,
  restoreAt: 105,
};

/** Polls once a second from 0 to 150 s; the incident opens at OPEN and ends at CLOSE. */
function run(open: number, close: number | null, extra: ObservedIncident[] = []): IncidentPoll[] {
  const polls: IncidentPoll[] = [];
  for (let at = 0; at <= 150; at++) {
    const list: ObservedIncident[] = [];
    if (at >= open + 0.4) {
      const ended = close !== null && at >= close + 0.4;
      list.push(
        incident({
          opened: open,
          updated: ended ? close! : open,
          status: ended ? 'ended' : 'ongoing',
          end: ended ? iso(close! - 2) : null,
        }),
      );
    }
    polls.push({
      at,
      incidents: [...list, ...extra.filter((x) => at >= Date.parse(x.opened_at!) / 1000 - START / 1000)],
    });
  }
  return polls;
}

const applied = (planned: number) => planned + 0.2;

describe('incident verdicts', () => {
  it('passes an incident opened and ended in time, and reports how long each took', () => {
    const [v] = judgeIncidents([cut], run(52, 111), START, applied);
    expect(v).toMatchObject({ pass: true, label: 'region:AZ-FUZ+asn:29049' });
    expect(v!.got).toMatchObject({
      status: 'ended',
      opened_after_cut_s: 6.8,
      closed_after_restore_s: 5.8,
      seen: [
        { at_s: 53, status: 'ongoing' },
        { at_s: 112, status: 'ended' },
      ],
    });
  });

  it('fails one opened too late, one never ended, and one that ended before the restoration', () => {
    expect(judgeIncidents([cut], run(60, 111), START, applied)[0]!.error).toBe(
      'opened 14.8s after the cut, more than 10s',
    );
    expect(judgeIncidents([cut], run(50, null), START, applied)[0]!.error).toBe(
      'still ongoing at the end of the run',
    );
    expect(judgeIncidents([cut], run(50, 80), START, applied)[0]!.error).toBe(
      'ended 25.2s before the restoration',
    );
  });

  it('fails an incident of another scope or type, and says what the server opened', () => {
    const wrong = run(50, 110).map((p) => ({
      ...p,
      incidents: p.incidents!.map((i) => ({ ...i, scope: { ...i.scope, entity: 'region:AZ-FUZ' } })),
    }));
    const verdicts = judgeIncidents([cut], wrong, START, applied);
    expect(verdicts[0]).toMatchObject({ pass: false, got: null });
    expect(verdicts[0]!.error).toContain('the server opened: region:AZ-FUZ');
    // ... which is then also an unexpected incident.
    expect(verdicts[1]).toMatchObject({ pass: false, label: 'region:AZ-FUZ' });
  });

  it('compares services and ASNs as sets', () => {
    const wa: IncidentExpectation = {
      entity: 'country:AZ+platform:whatsapp',
      type: 'Shutdown',
      extent: 'Service-based',
      services: ['whatsapp'],
      asns: [29049, 31721],
      cutAt: 45,
      restoreAt: null,
    };
    const polls = run(50, null).map((p) => ({
      ...p,
      incidents: p.incidents!.map((i) => ({
        ...i,
        shutdown_extent: 'Service-based',
        scope: { entity: 'platform:whatsapp+country:AZ', asns: [31721, 29049], services: ['WhatsApp'] },
      })),
    }));
    expect(judgeIncidents([wa], polls, START, applied)[0]!.pass).toBe(true);
    const three = polls.map((p) => ({
      ...p,
      incidents: p.incidents!.map((i) => ({ ...i, scope: { ...i.scope, asns: [29049, 31721, 28787] } })),
    }));
    expect(judgeIncidents([wa], three, START, applied)[0]!.pass).toBe(false);
  });

  it('with incidents: [], any incident fails and none passes', () => {
    expect(judgeIncidents([], run(999, null), START, applied)).toEqual([
      { pass: true, label: 'no incident', expected: { incidents: [] }, got: { incidents: [] } },
    ]);
    const verdicts = judgeIncidents([], run(70, 90), START, applied);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]!.pass).toBe(false);
    expect(verdicts[0]!.error).toBe(
      'an unexpected incident: Shutdown (Full network) on region:AZ-FUZ+asn:29049',
    );
  });

  it('fails everything when the server never listed incidents, saying why', () => {
    const polls: IncidentPoll[] = [
      { at: 1, error: 'HTTP 404' },
      { at: 2, error: 'HTTP 404' },
    ];
    const [v] = judgeIncidents([cut], polls, START, applied);
    expect(v!.pass).toBe(false);
    expect(v!.error).toBe('the server never listed incidents (2 polls of GET /api/v1/incidents: HTTP 404)');
    expect(judgeIncidents([], polls, START, applied)[0]).toMatchObject({ pass: false, label: 'no incident' });
  });
});
