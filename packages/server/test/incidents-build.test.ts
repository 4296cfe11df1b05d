/**
 * Merging anomaly windows into incidents: the scopes of Azerbaijan's real shutdowns (a region of
 * one ISP, one platform on two of four ISPs, the whole country), STOP's type and extent, the start
 * with its precision, the end, and a confidence that grows with independent evidence.
 */
import { describe, expect, it } from 'vitest';
import { buildIncidents } from '../src/incidents/build.js';
import { countryOf, T0, win } from './incidents-fixtures.js';

describe('scope', () => {
  it('a region of one ASN cut off (Fuzuli 2023): one regional incident, not the whole ASN', () => {
    const drafts = buildIncidents(
      [
        win('region:AZ-FUZ+asn:29049', 'beacon.active', T0, T0 + 3600, { expected: 8 }),
        win('region:AZ-FUZ+asn:29049', 'measurement.down', T0 + 120, T0 + 3500, { step: 300 }),
        // The ASN as a whole loses a fifth of its probes: Fuzuli's, seen from above.
        win('asn:29049', 'beacon.active', T0 + 60, T0 + 3600, { level: 'warning', ratio: 0.8, expected: 40 }),
        // Elsewhere, later, unrelated.
        win('asn:28787+platform:tiktok', 'measurement.blocked', T0 + 7200, null, { step: 3600 }),
      ],
      { countryOf },
    );
    expect(drafts).toHaveLength(2);
    const [fuzuli, tiktok] = drafts;
    expect(fuzuli!.scope).toEqual({
      entity: 'region:AZ-FUZ+asn:29049',
      country: 'AZ',
      region: 'AZ-FUZ',
      asns: [29049],
      services: [],
    });
    expect(fuzuli).toMatchObject({
      shutdown_type: 'Shutdown',
      shutdown_extent: 'Full network',
      start: '2023-09-19T06:00:00.000Z',
      start_precision_seconds: 60,
      end: '2023-09-19T07:00:00.000Z',
      end_precision_seconds: 60,
    });
    expect(fuzuli!.evidence.windows).toHaveLength(3);
    expect(tiktok!.scope.entity).toBe('asn:28787+platform:tiktok');
    expect(tiktok).toMatchObject({ shutdown_extent: 'Service-based', end: null });
  });

  it('WhatsApp blocked on two of four ASNs: one Service-based incident for the country listing both', () => {
    const drafts = buildIncidents(
      [
        win('asn:28787+platform:whatsapp', 'measurement.blocked', T0, null, { step: 600 }),
        win('asn:31721+platform:whatsapp', 'measurement.blocked_fraction', T0 + 1200, null, { step: 600 }),
        // The other two ASNs are fine; WhatsApp in Georgia is another country's business.
        win('asn:16010+platform:whatsapp', 'measurement.blocked', T0, null, { step: 600 }),
      ],
      { countryOf },
    );
    expect(drafts.map((d) => d.scope.entity).sort()).toEqual([
      'asn:16010+platform:whatsapp',
      'country:AZ+platform:whatsapp',
    ]);
    const az = drafts.find((d) => d.scope.country === 'AZ')!;
    expect(az.scope).toEqual({
      entity: 'country:AZ+platform:whatsapp',
      country: 'AZ',
      region: null,
      asns: [28787, 31721],
      services: ['whatsapp'],
    });
    expect(az).toMatchObject({
      shutdown_type: 'Shutdown',
      shutdown_extent: 'Service-based',
      start: '2023-09-19T06:00:00.000Z',
      start_precision_seconds: 600,
      end: null,
    });
  });

  it('a nationwide blackout: every ASN, the country and BGP together are one incident', () => {
    const asns = [28787, 29049, 31721, 197830];
    const drafts = buildIncidents(
      [
        win('country:AZ', 'beacon.active', T0, T0 + 5400, { expected: 200 }),
        win('country:AZ', 'bgp.visible_slash24', T0 + 300, T0 + 5400, { step: 300 }),
        win('country:AZ', 'ping-slash24', T0 + 600, T0 + 4800, { step: 600 }),
        ...asns.map((a, i) =>
          win(`asn:${a}`, 'beacon.active', T0 + i * 60, T0 + 5400 - i * 60, { expected: 50 }),
        ),
      ],
      { countryOf },
    );
    expect(drafts).toHaveLength(1);
    expect(drafts[0]!.scope).toEqual({
      entity: 'country:AZ',
      country: 'AZ',
      region: null,
      asns,
      services: [],
    });
    expect(drafts[0]).toMatchObject({ shutdown_type: 'Shutdown', shutdown_extent: 'Full network' });
    expect(drafts[0]!.confidence).toBeGreaterThan(0.9);
  });

  it('a platform blocked inside a full outage of the same ASN belongs to the outage', () => {
    const drafts = buildIncidents(
      [
        win('asn:29049', 'bgp.visible_slash24', T0, T0 + 3600, { step: 300 }),
        win('asn:29049+platform:tiktok', 'measurement.blocked', T0 + 600, T0 + 3000, { step: 600 }),
      ],
      { countryOf },
    );
    expect(drafts).toHaveLength(1);
    expect(drafts[0]!.scope).toMatchObject({ entity: 'asn:29049', services: [] });
    expect(drafts[0]!.shutdown_extent).toBe('Full network');
  });

  it('a block that goes on around an outage stays its own incident', () => {
    // News sites blocked for days; the network cut for an hour in the middle.
    const drafts = buildIncidents(
      [
        win('asn:29049+category:NEWS', 'measurement.blocked_fraction', T0 - 86400, null, { step: 600 }),
        win('asn:29049', 'beacon.disconnected', T0, T0 + 3600, { step: 60 }),
      ],
      { countryOf },
    );
    expect(drafts).toHaveLength(2);
    const [news, cut] = drafts;
    expect(news).toMatchObject({ shutdown_extent: 'Service-based', end: null });
    expect(news!.scope.entity).toBe('asn:29049+category:NEWS');
    expect(cut).toMatchObject({ shutdown_extent: 'Full network', scope: { entity: 'asn:29049' } });
  });
});

describe('type', () => {
  it('throttled platforms are a Service-based Throttle; a cut then throttling is Shutdown, Throttle', () => {
    const [throttle] = buildIncidents([
      win('asn:29049+platform:tiktok', 'measurement.throttled', T0, T0 + 3600, { step: 600 }),
    ]);
    expect(throttle).toMatchObject({
      shutdown_type: 'Throttle',
      shutdown_types: ['Throttle'],
      shutdown_extent: 'Service-based',
      scope: { services: ['tiktok'] },
    });
    const [both] = buildIncidents([
      win('asn:29049', 'beacon.active', T0, T0 + 3600),
      win('asn:29049', 'measurement.throttled', T0 + 3600, T0 + 7200, { step: 600 }),
    ]);
    expect(both).toMatchObject({ shutdown_types: ['Shutdown', 'Throttle'], shutdown_extent: 'Full network' });
  });
});

describe('time', () => {
  it('tolerates a gap of two steps, and no more', () => {
    const close = buildIncidents([
      win('asn:29049', 'beacon.active', T0, T0 + 600),
      win('asn:29049', 'beacon.active', T0 + 720, T0 + 1200),
    ]);
    expect(close).toHaveLength(1);
    expect(close[0]).toMatchObject({ start: '2023-09-19T06:00:00.000Z', end: '2023-09-19T06:20:00.000Z' });
    const apart = buildIncidents([
      win('asn:29049', 'beacon.active', T0, T0 + 600),
      win('asn:29049', 'beacon.active', T0 + 1200, T0 + 1800),
    ]);
    expect(apart).toHaveLength(2);
  });

  it('dates the start by the earliest signal with its step, and stays open while any signal is', () => {
    const [d] = buildIncidents([
      win('asn:29049', 'bgp.visible_slash24', T0 + 300, T0 + 3600, { step: 300 }),
      win('asn:29049', 'beacon.active', T0 + 60, null, { step: 60 }),
    ]);
    expect(d).toMatchObject({
      start: '2023-09-19T06:01:00.000Z',
      start_precision_seconds: 60,
      end: null,
      end_precision_seconds: null,
    });
  });
});

describe('confidence', () => {
  it('is low for one critical signal from few probes, and grows as independent signals agree', () => {
    const few = buildIncidents([win('asn:29049', 'beacon.active', T0, T0 + 600, { expected: 1 })])[0]!;
    const many = buildIncidents([win('asn:29049', 'beacon.active', T0, T0 + 600, { expected: 30 })])[0]!;
    const two = buildIncidents([
      win('asn:29049', 'beacon.active', T0, T0 + 600, { expected: 30 }),
      win('asn:29049', 'bgp.visible_slash24', T0, T0 + 600, { step: 300 }),
    ])[0]!;
    const warning = buildIncidents([
      win('asn:29049', 'beacon.active', T0, T0 + 600, { expected: 30, level: 'warning', ratio: 0.6 }),
    ])[0]!;
    expect(few.confidence).toBeLessThan(0.2);
    expect(warning.confidence).toBeLessThan(many.confidence);
    expect(many.confidence).toBeLessThan(two.confidence);
    // Two windows of one source are one witness, not two.
    const same = buildIncidents([
      win('asn:29049', 'beacon.active', T0, T0 + 600, { expected: 30 }),
      win('asn:29049', 'beacon.disconnected', T0, T0 + 600, { expected: 30 }),
    ])[0]!;
    expect(same.confidence).toBe(many.confidence);
  });

  it('is the same for the same windows in any order (a pass can be re-run)', () => {
    const ws = [
      win('asn:28787+platform:whatsapp', 'measurement.blocked', T0, null, { step: 600 }),
      win('asn:31721+platform:whatsapp', 'measurement.blocked', T0 + 600, null, { step: 600 }),
      win('asn:29049', 'beacon.active', T0, T0 + 600),
    ];
    expect(buildIncidents([...ws].reverse(), { countryOf })).toEqual(buildIncidents(ws, { countryOf }));
  });
});
