/**
 * Incidents stored and served: every change goes into the evidence log (the log grows, the
 * record's hash matches), the API lists and shows incidents with their history, analysts act
 * only with a valid token (401/403/200), bad input is a 400 that changes nothing, and the CLI
 * manages tokens and imports and exports STOP sheets.
 */
import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJSON } from '@pharos/core';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { type EvidenceStore, openEvidenceStore } from '../src/evidence/index.js';
import { parseCsv } from '../src/incidents/csv.js';
import { AnalystRegistry, buildIncidents, IncidentStore, incidentRoutes } from '../src/incidents/index.js';
import { SignalsDatabase } from '../src/signals/database.js';
import { recordingIO, tempDir } from './evidence-fixtures.js';
import { countryOf, T0, win } from './incidents-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let evidence: EvidenceStore | undefined;
let signals: SignalsDatabase | undefined;
let store: IncidentStore;
let app: FastifyInstance;
let token: string;

const parseCsvForTests = (text: string) => parseCsv(text).map((r) => r.fields);
const at = (s: number) => new Date((T0 + s) * 1000);
const FUZ = 'region:AZ-FUZ+asn:29049';

beforeEach(async () => {
  tmp = await tempDir('pharos-incidents-');
  evidence = await openEvidenceStore({ dataDir: tmp.dir });
  signals = await SignalsDatabase.open(tmp.dir);
  store = await IncidentStore.open(signals, evidence);
  const analysts = new AnalystRegistry(tmp.dir);
  token = await analysts.add('leyla');
  app = Fastify();
  await app.register(incidentRoutes(store, { analysts }));
  await app.ready();
});
afterEach(async () => {
  await app?.close();
  await signals?.close();
  await evidence?.close();
  signals = undefined;
  evidence = undefined;
  await tmp.remove();
});

async function detect(windows: Parameters<typeof buildIncidents>[0], now: number) {
  return store.evaluate(buildIncidents(windows, { countryOf }), { now: at(now) });
}

const get = (url: string) => app.inject({ method: 'GET', url });
const post = (url: string, body?: unknown, auth: string | null = `Bearer ${token}`) =>
  app.inject({
    method: 'POST',
    url,
    ...(auth ? { headers: { authorization: auth } } : {}),
    ...(body === undefined ? {} : { payload: body as object }),
  });

describe('every change in the evidence log', () => {
  it('appends each change as an incident record whose hash is the change', async () => {
    const before = evidence!.treeSize();
    const opened = await detect([win(FUZ, 'beacon.active', T0, null, { expected: 5 })], 300);
    const ended = await detect([win(FUZ, 'beacon.active', T0, T0 + 3600, { expected: 5 })], 3700);
    expect([...opened, ...ended].map((c) => c.change)).toEqual(['opened', 'ended']);
    expect(ended[0]!.log_index).toBe(opened[0]!.log_index + 1);
    for (const c of [...opened, ...ended]) {
      const record = (await evidence!.getRecord(c.log_index))!;
      expect(record.kind).toBe('incident');
      const { log_index: _i, sha256: _h, ...change } = c;
      expect(record.record).toEqual(JSON.parse(JSON.stringify(change)));
      expect(record.sha256).toBe(createHash('sha256').update(canonicalJSON(record.record)).digest('hex'));
      expect(c.sha256).toBe(record.sha256);
    }
    for (let i = 0; i < 500 && evidence!.treeSize() < before + 2; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(evidence!.treeSize()).toBe(before + 2);
    expect((await evidence!.verifyIntegrity()).ok).toBe(true);
  });
});

describe('GET /api/v1/incidents', () => {
  it('lists newest first, filtered by status, entity and time; one incident comes with its history', async () => {
    await detect(
      [
        win(FUZ, 'beacon.active', T0, T0 + 3600, { expected: 5 }),
        win('asn:28787+platform:whatsapp', 'measurement.blocked', T0 + 7200, null, { step: 600 }),
        win('asn:31721+platform:whatsapp', 'measurement.blocked', T0 + 7200, null, { step: 600 }),
        win('asn:16010', 'bgp.visible_slash24', T0 + 600, T0 + 1200, { step: 300 }),
      ],
      9000,
    );
    const all = (await get('/api/v1/incidents')).json().incidents;
    expect(all.map((i: { scope: { entity: string } }) => i.scope.entity)).toEqual([
      'country:AZ+platform:whatsapp',
      'asn:16010',
      FUZ,
    ]);
    const ongoing = (await get('/api/v1/incidents?status=ongoing')).json().incidents;
    expect(ongoing).toHaveLength(1);
    expect(ongoing[0]).toMatchObject({
      status: 'ongoing',
      shutdown_type: 'Shutdown',
      shutdown_extent: 'Service-based',
      scope: { asns: [28787, 31721], services: ['whatsapp'] },
      start: '2023-09-19T08:00:00.000Z',
      start_precision_seconds: 600,
      end: null,
      review: 'unreviewed',
    });
    const az = (await get('/api/v1/incidents?entity=country:AZ')).json().incidents;
    expect(az).toHaveLength(2);
    expect((await get('/api/v1/incidents?entity=asn:29049')).json().incidents).toHaveLength(1);
    expect((await get('/api/v1/incidents?since=2023-09-19T06:30:00Z')).json().incidents).toHaveLength(2);
    expect((await get('/api/v1/incidents?limit=1')).json().incidents).toHaveLength(1);

    const one = await get(`/api/v1/incidents/${ongoing[0].id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json().incident.id).toBe(ongoing[0].id);
    expect(one.json().changes).toEqual([
      {
        change: 'opened',
        by: 'detector',
        at: '2023-09-19T08:30:00.000Z',
        log_index: expect.any(Number),
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        record: expect.stringMatching(/^\/api\/v1\/records\/\d+$/),
      },
    ]);
    expect((await get('/api/v1/incidents/inc_00000000000000000000')).statusCode).toBe(404);
  });

  it('answers a bad query with a 400 naming the parameter', async () => {
    for (const [url, message] of [
      ['/api/v1/incidents?status=over', /query parameter status must be ongoing or ended/],
      ['/api/v1/incidents?entity=planet:mars', /query parameter entity .*unknown type "planet"/],
      ['/api/v1/incidents?since=yesterday', /query parameter since must be an ISO 8601/],
      ['/api/v1/incidents?limit=0', /query parameter limit must be a whole number/],
      ['/api/v1/incidents?colour=red', /unknown query parameter colour/],
      ['/api/v1/incidents/..%2Fetc', /is not an incident id/],
    ] as const) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(400);
      expect(r.json().error).toMatch(message);
    }
  });
});

describe('analysts', () => {
  async function oneIncident(): Promise<string> {
    const [c] = await detect([win(FUZ, 'beacon.active', T0, null, { expected: 5 })], 300);
    // Published, so the tree size below is the one every later check compares with.
    for (let i = 0; i < 500 && evidence!.treeSize() <= c!.log_index; i++)
      await new Promise((r) => setTimeout(r, 10));
    return c!.incident;
  }

  it('need a token: 401 without one, 403 with a wrong one, and nothing changes', async () => {
    const id = await oneIncident();
    const size = evidence!.treeSize();
    const none = await post(`/api/v1/incidents/${id}/confirm`, undefined, null);
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const wrong = await post(`/api/v1/incidents/${id}/confirm`, undefined, 'Bearer pharos_not-a-token');
    expect(wrong.statusCode).toBe(403);
    const basic = await post(`/api/v1/incidents/${id}/dismiss`, undefined, 'Basic bGV5bGE6eA==');
    expect(basic.statusCode).toBe(403);
    expect((await store.get(id))!.changes).toHaveLength(1);
    expect((await store.get(id))!.incident.review).toBe('unreviewed');
    expect(evidence!.treeSize()).toBe(size);
  });

  it('confirm, annotate and dismiss, each logged with their name', async () => {
    const id = await oneIncident();
    const confirmed = await post(`/api/v1/incidents/${id}/confirm`, {
      note: 'seen by our partner in Fuzuli',
    });
    expect(confirmed.statusCode).toBe(200);
    expect(confirmed.json().incident).toMatchObject({
      review: 'confirmed',
      annotations: { note: 'seen by our partner in Fuzuli' },
    });
    const annotated = await post(`/api/v1/incidents/${id}/annotate`, {
      actual_cause: 'Conflict',
      gov_justification: 'National security/ Counter-terrorism',
      legal_just: 'No',
      election: 'No',
    });
    expect(annotated.statusCode).toBe(200);
    expect(annotated.json().incident.annotations).toMatchObject({
      actual_cause: 'Conflict',
      legal_just: 'No',
    });
    const history = (await get(`/api/v1/incidents/${id}`)).json().changes;
    expect(history.map((c: { change: string; by: string }) => [c.change, c.by])).toEqual([
      ['opened', 'detector'],
      ['confirmed', 'leyla'],
      ['annotated', 'leyla'],
    ]);
    const record = (await evidence!.getRecord(history[2].log_index))!;
    expect(record.record).toMatchObject({ change: 'annotated', by: 'leyla', incident: id });

    // A dismissed incident stays dismissed: the detector does not bring it back.
    expect((await post(`/api/v1/incidents/${id}/dismiss`)).statusCode).toBe(200);
    const again = await detect(
      [
        win(FUZ, 'beacon.active', T0, null, { expected: 5 }),
        win(FUZ, 'bgp.visible_slash24', T0, null, { step: 300 }),
      ],
      900,
    );
    expect(again).toEqual([]);
    expect((await post('/api/v1/incidents/inc_00000000000000000000/confirm')).statusCode).toBe(404);
  });

  it('refuse annotations outside STOP vocabulary with a 400, changing nothing', async () => {
    const id = await oneIncident();
    const size = evidence!.treeSize();
    for (const [body, message] of [
      [{ actual_cause: 'Aliens' }, /body: actual_cause must be one of STOP's causes/],
      [{ legal_just: 'Maybe' }, /body: legal_just must be Yes, No or Unknown/],
      [{ election: 'yes' }, /body: election must be Yes, No or Unknown/],
      [{ gov_justification: 'Because' }, /body: gov_justification must be one of STOP's justifications/],
      [{ cause: 'Conflict' }, /unknown member cause/],
      [{}, /give at least one annotation/],
    ] as const) {
      const r = await post(`/api/v1/incidents/${id}/annotate`, body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error).toMatch(message);
    }
    expect((await post(`/api/v1/incidents/${id}/confirm`, { note: 5 })).statusCode).toBe(400);
    expect((await store.get(id))!.changes).toHaveLength(1);
    expect(evidence!.treeSize()).toBe(size);
  });
});

describe('GET /api/v1/incidents.csv', () => {
  it('is STOP CSV with the combined sheet header', async () => {
    await detect([win(FUZ, 'beacon.active', T0, T0 + 5400, { expected: 5 })], 6000);
    const r = await get('/api/v1/incidents.csv');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, row] = parseCsvForTests(r.body);
    expect(header).toHaveLength(47);
    expect(header!.slice(0, 3)).toEqual(['start_date_type', 'start_date', 'country']);
    const value = (c: string) => row![header!.indexOf(c)];
    expect(value('country')).toBe('Azerbaijan');
    expect(value('start_date')).toBe('2023-09-19');
    expect(value('end_date')).toBe('2023-09-19');
    expect(value('shutdown_type')).toBe('Shutdown');
    expect(value('shutdown_extent')).toBe('Full network');
    expect(value('shutdown_status')).toBe('Ended');
    expect(value('area_name')).toBe('AZ-FUZ');
    expect(value('telcos_involved')).toBe('AS29049');
  });
});

describe('pharos analyst and pharos incidents', () => {
  async function run(...argv: string[]) {
    const r = recordingIO(tmp.dir);
    const code = await main(argv, r.io);
    return { code, stdout: r.stdout(), stderr: r.stderr() };
  }

  it('add prints a token once and keeps only its hash in a 0600 file; list and remove', async () => {
    const added = await run('analyst', 'add', 'arzu', '--data', tmp.dir);
    expect(added.code).toBe(0);
    const newToken = added.stdout.trim();
    expect(newToken).toMatch(/^pharos_[A-Za-z0-9_-]{43}$/);
    expect(added.stderr).toMatch(/shown only now/);
    const file = path.join(tmp.dir, 'analysts.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(newToken);
    expect(text).toContain(createHash('sha256').update(newToken).digest('hex'));
    const id = (await detect([win(FUZ, 'beacon.active', T0, null)], 300))[0]!.incident;
    expect((await post(`/api/v1/incidents/${id}/confirm`, undefined, `Bearer ${newToken}`)).statusCode).toBe(
      200,
    );

    expect((await run('analyst', 'add', 'arzu', '--data', tmp.dir)).code).toBe(1);
    expect((await run('analyst', 'add', 'no good', '--data', tmp.dir)).code).toBe(1);
    const list = await run('analyst', 'list', '--data', tmp.dir);
    expect(list.stdout).toMatch(/^leyla\tsince .*\narzu\tsince .*\n$/);
    expect((await run('analyst', 'remove', 'arzu', '--data', tmp.dir)).code).toBe(0);
    expect((await post(`/api/v1/incidents/${id}/confirm`, undefined, `Bearer ${newToken}`)).statusCode).toBe(
      403,
    );
    expect((await run('analyst', 'remove', 'arzu', '--data', tmp.dir)).code).toBe(1);
    expect((await run('analyst', 'frobnicate', '--data', tmp.dir)).code).toBe(2);
  });

  it('import logs every STOP row as a confirmed incident by import:FILE, once; export gives them back', async () => {
    // The CLI opens the data directory itself: hand it over.
    await app.close();
    await signals!.close();
    await evidence!.close();
    signals = undefined;
    evidence = undefined;
    const sheet = [
      'start_date_type,start_date,country,geo_scope,area_name,shutdown_type,affected_network,shutdown_extent,ordered_by,decision_maker,actual_cause,actual_cause_details,info_source,info_source_link,shutdown_status,end_date,duration,gov_justification,gov_just_details,gov_ack,legal_just,legal_method,gov_ack_source,gov_ack_quote,facebook_affected,twitter_affected,whatsapp_affected,instagram_affected,telegram_affected,other_affected,sms_affected,phonecall_affected,telcos_involved,telco_ack,telco_ack_source,telco_ack_quote,election,violence,hr_abuse_reported,users_targeted,users_target_detail,users_notified,econ_impact,event,an_link,region,count_year',
      'Actual,2023-09-19,Azerbaijan,"It only affected one city, county, or village",Fuzuli,"Shutdown, Throttle","Broadband, Mobile",Full network,Executive government,,Conflict,,CSO KIO partners,https://example.org/a,Ended,2023-10-24,36,Unknown,,No,Unknown,,,,No,No,No,No,No,,No,No,"Azerbaijan: Azercell, Azerbaijan: Bakcell",No,,,No,Yes,Unknown,,,No,,Fuzuli cut off,,EECA,2023',
      'Actual,2024-10-08,Azerbaijan,"It affected locations in more than one state, province, or region",Nationwide,Shutdown,"Broadband, Mobile",Service-based,Unknown,,Information control,,CSO KIO partners,https://example.org/b,Ended,2024-10-10,3,Unknown,,Unknown,Unknown,,,,No,Yes,No,No,No,,No,No,"Azerbaijan: AzEuroTel, Azerbaijan: Aztelekom",Unknown,,,No,No,No,,,Unknown,,X blocked before COP29,,EECA,2024',
    ].join('\r\n');
    await writeFile(path.join(tmp.dir, 'az.csv'), `${sheet}\r\n`);
    const first = await run('incidents', 'import', '--stop', 'az.csv', '--data', tmp.dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^imported 2 incidents from az\.csv \(combined layout; 0 were already there, log entries 0\.\.1\)\n$/,
    );
    const second = await run('incidents', 'import', '--stop', 'az.csv', '--data', tmp.dir);
    expect(second.stdout).toMatch(
      /^imported 0 incidents from az\.csv \(combined layout; 2 were already there\)\n$/,
    );

    const csv = await run('incidents', 'export', '--data', tmp.dir);
    expect(csv.code).toBe(0);
    const rows = parseCsvForTests(csv.stdout);
    // Newest first.
    expect(rows.slice(1).map((r) => r.join(','))).toEqual([
      parseCsvForTests(sheet)[2]!.join(','),
      parseCsvForTests(sheet)[1]!.join(','),
    ]);
    const json = JSON.parse((await run('incidents', 'export', '--data', tmp.dir, '--format', 'json')).stdout);
    expect(json.incidents[0].incident).toMatchObject({ review: 'confirmed', scope: { services: ['x'] } });
    expect(json.incidents[0].changes).toEqual([
      expect.objectContaining({ change: 'opened', by: 'import:az.csv', log_index: 1 }),
    ]);

    // Each import is in the evidence log, and pharos check vouches for it.
    const check = await run('check', '--data', tmp.dir);
    expect(check.stdout).toMatch(/checked 2 log entries, 0 measurements \(0 signatures\), 2 records,/);
    expect(check.code).toBe(0);

    expect((await run('incidents', 'import', '--stop', 'missing.csv', '--data', tmp.dir)).stderr).toMatch(
      /cannot read --stop .*missing\.csv: ENOENT/,
    );
    expect((await run('incidents', 'export', '--data', tmp.dir, '--format', 'xml')).code).toBe(2);
  });
});
