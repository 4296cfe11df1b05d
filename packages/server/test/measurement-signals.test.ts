/**
 * Measurement outcomes and their signals, from OONI's own Web Connectivity QA measurements
 * (../shared/data/ooni) and from app, platform and throttling measurements shaped as the probe
 * writes them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sharedData } from '../../../test-support/shared-data.js';
import { SignalsDatabase } from '../src/signals/database.js';
import {
  type MeasurementItem,
  measurementEvidence,
  measurementOutcome,
  measurementSignals,
  outcomeRow,
  recordMeasurements,
} from '../src/signals/measurement-signals.js';
import type { SignalPoint } from '../src/signals/types.js';

const qaDir = sharedData('ooni/samples/probe-cli-qa-generated');

let db: SignalsDatabase;
beforeEach(async () => {
  db = await SignalsDatabase.open(':memory:');
});
afterEach(async () => {
  await db.close();
});

function qaMeasurements(): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const name of readdirSync(qaDir!)) {
    if (!name.endsWith('.measurement.json')) continue;
    out.set(name.replace('.measurement.json', ''), JSON.parse(readFileSync(path.join(qaDir!, name), 'utf8')));
  }
  return out;
}

let nextIndex = 0;
function item(
  measurement: Record<string, unknown>,
  derived: { cc?: string; asn?: number } = {},
): MeasurementItem {
  const index = nextIndex++;
  return {
    id: index.toString(16).padStart(64, '0'),
    log_index: index,
    measurement,
    derivedCC: derived.cc ?? null,
    derivedASN: derived.asn ?? null,
  };
}

function envelope(testName: string, testKeys: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    annotations: {},
    measurement_start_time: '2026-11-20 10:15:00',
    probe_asn: 'AS28787',
    probe_cc: 'AZ',
    test_name: testName,
    test_keys: testKeys,
    ...extra,
  };
}

function value(points: SignalPoint[], entity: string, signal: string): number | undefined {
  return points.find((p) => p.entity === entity && p.signal === signal)?.value;
}

describe.skipIf(qaDir === null)("OONI's Web Connectivity QA measurements", () => {
  it('become ok, blocked, down or unknown as their verdicts say', () => {
    const qa = qaMeasurements();
    expect(measurementOutcome(qa.get('successWithHTTPS')!)).toBe('ok');
    expect(measurementOutcome(qa.get('dnsBlockingNXDOMAIN')!)).toBe('blocked');
    expect(measurementOutcome(qa.get('tcpBlockingConnectTimeout')!)).toBe('blocked');
    expect(measurementOutcome(qa.get('httpDiffWithConsistentDNS')!)).toBe('blocked');
    expect(measurementOutcome(qa.get('websiteDownNXDOMAIN')!)).toBe('down');
    expect(measurementOutcome(qa.get('controlFailureWithSuccessfulHTTPWebsite')!)).toBe('unknown');
  });

  it('add up per country and ASN in their step, with the network derived from the address first', async () => {
    const qa = [...qaMeasurements().values()];
    // Half as if the address placed them on AS29049 in AZ; the rest keep their claim (IT, AS137).
    const items = qa.map((m, i) => item(m, i % 2 === 0 ? { cc: 'AZ', asn: 29049 } : {}));
    await recordMeasurements(db, items);
    const time = Date.parse('2024-02-12T20:33:47Z') / 1000;
    const points = await measurementSignals(db, { from: time - 3600, until: time + 3600, step: 3600 });
    const outcomes = qa.map(measurementOutcome);
    const blocked = outcomes.filter((o) => o === 'blocked').length;
    const total =
      (value(points, 'country:AZ', 'measurement.measured') ?? 0) +
      (value(points, 'country:IT', 'measurement.measured') ?? 0);
    expect(total).toBe(qa.length);
    expect(value(points, 'asn:29049', 'measurement.measured')).toBe(Math.ceil(qa.length / 2));
    expect(value(points, 'asn:137', 'measurement.measured')).toBe(Math.floor(qa.length / 2));
    const blockedSum =
      (value(points, 'country:AZ', 'measurement.blocked') ?? 0) +
      (value(points, 'country:IT', 'measurement.blocked') ?? 0);
    expect(blockedSum).toBe(blocked);
    const fraction = points.find(
      (p) => p.entity === 'asn:29049' && p.signal === 'measurement.blocked_fraction',
    )!;
    expect(fraction.value).toBeCloseTo(
      (value(points, 'asn:29049', 'measurement.blocked') ?? 0) / fraction.count,
    );
    expect(fraction.time % 3600).toBe(0);
  });
});

describe('apps, platforms and throttling', () => {
  it('read Pharos verdicts, OONI keys, throttling verdicts and a network that is down', () => {
    expect(
      measurementOutcome(envelope('whatsapp', { x_verdict: 'blocked', whatsapp_endpoints_status: 'ok' })),
    ).toBe('blocked');
    expect(measurementOutcome(envelope('tiktok', { x_verdict: 'throttled', x_platform: 'TikTok' }))).toBe(
      'throttled',
    );
    expect(measurementOutcome(envelope('signal', { x_verdict: null }))).toBe('unknown');
    expect(measurementOutcome(envelope('throttling', { x_verdict: 'throttled' }))).toBe('throttled');
    expect(
      measurementOutcome(
        envelope('web_connectivity', { blocking: null, accessible: null, x_mechanism: 'network.down' }),
      ),
    ).toBe('down');
    // Measurements from OONI Probe, with OONI's keys only.
    expect(
      measurementOutcome(
        envelope('telegram', { telegram_tcp_blocking: true, telegram_http_blocking: false }),
      ),
    ).toBe('blocked');
    expect(
      measurementOutcome(
        envelope('telegram', {
          telegram_tcp_blocking: false,
          telegram_http_blocking: false,
          telegram_web_status: 'ok',
        }),
      ),
    ).toBe('ok');
    expect(
      measurementOutcome(
        envelope('facebook_messenger', { facebook_dns_blocking: false, facebook_tcp_blocking: false }),
      ),
    ).toBe('ok');
    expect(
      measurementOutcome(
        envelope('whatsapp', {
          registration_server_status: 'ok',
          whatsapp_endpoints_status: 'blocked',
          whatsapp_web_status: 'ok',
        }),
      ),
    ).toBe('blocked');
    expect(measurementOutcome(envelope('dnscheck', {}))).toBe('unknown');
  });

  it('give platform, category and region entities, and the evidence behind them', async () => {
    const region = { annotations: { x_region: 'az-fuz', x_category_code: 'news' } };
    const items = [
      item(envelope('whatsapp', { x_verdict: 'blocked' }), { cc: 'AZ', asn: 29049 }),
      item(envelope('whatsapp', { x_verdict: 'ok' }), { cc: 'AZ', asn: 28787 }),
      item(envelope('web_connectivity', { blocking: 'http-failure', accessible: false }, region), {
        cc: 'AZ',
        asn: 29049,
      }),
      item(envelope('web_connectivity', { blocking: false, accessible: true }, region), {
        cc: 'AZ',
        asn: 29049,
      }),
      item(envelope('throttling', { x_verdict: 'throttled' }, { input: 'https://x.com/' }), {
        cc: 'AZ',
        asn: 29049,
      }),
    ];
    expect(outcomeRow(items[2]!)).toMatchObject({
      region: 'AZ-FUZ',
      category: 'NEWS',
      platform: null,
      asn: 29049,
    });
    expect(outcomeRow(items[0]!)).toMatchObject({ platform: 'whatsapp', category: null });
    await recordMeasurements(db, items);
    const t = Date.parse('2026-11-20T10:00:00Z') / 1000;
    const points = await measurementSignals(db, { from: t, until: t + 3600, step: 3600 });
    expect(value(points, 'asn:29049+platform:whatsapp', 'measurement.blocked')).toBe(1);
    expect(value(points, 'asn:28787+platform:whatsapp', 'measurement.ok')).toBe(1);
    expect(value(points, 'country:AZ+platform:whatsapp', 'measurement.blocked_fraction')).toBe(0.5);
    expect(value(points, 'asn:29049+category:NEWS', 'measurement.measured')).toBe(2);
    expect(value(points, 'region:AZ-FUZ', 'measurement.blocked')).toBe(1);
    expect(value(points, 'asn:29049', 'measurement.throttled')).toBe(1);
    expect(value(points, 'country:AZ', 'measurement.measured')).toBe(5);

    const evidence = await measurementEvidence(db, {
      entity: 'platform:whatsapp+asn:29049',
      from: t,
      until: t + 3600,
    });
    expect(evidence).toEqual([{ id: items[0]!.id, log_index: items[0]!.log_index }]);
    const all = await measurementEvidence(db, {
      entity: 'asn:29049',
      from: t,
      until: t + 3600,
      outcomes: ['ok', 'blocked', 'throttled'],
    });
    expect(all.map((e) => e.log_index)).toEqual(
      [items[0]!, items[2]!, items[3]!, items[4]!].map((i) => i.log_index),
    );
    expect(await measurementEvidence(db, { entity: 'asn:29049', from: t + 3600, until: t + 7200 })).toEqual(
      [],
    );
  });
});
