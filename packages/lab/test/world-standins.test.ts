/**
 * The platform stand-ins of the lab's default internet, without root: which sites the catalog
 * becomes, the catalog and IP→ASN table the lab writes for the probe, and the shared and pinned
 * certificates.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnTable, loadCatalog, parseCatalog } from '@pharos/probe';
import { afterAll, describe, expect, it } from 'vitest';
import type { SiteSpec } from '../src/spec.js';
import { planAddresses } from '../src/world/addressing.js';
import { createLabCertificates } from '../src/world/certificates.js';
import { worldSites } from '../src/world/lab.js';
import { telegramDcHost } from '../src/world/names.js';
import { asnTableCSV, labCatalog, standInSites } from '../src/world/standins.js';

const catalog = loadCatalog();
const standIns = standInSites(catalog);
const byHost = new Map(standIns.map((s) => [s.host, s]));
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('platform stand-ins', () => {
  it('stand in for every name the app and platform experiments measure, each once', () => {
    const names = [
      ...catalog.apps.whatsapp.endpoints.hosts,
      new URL(catalog.apps.whatsapp.registration).hostname,
      new URL(catalog.apps.whatsapp.web).hostname,
      new URL(catalog.apps.telegram.web).hostname,
      ...catalog.apps.signal.targets.map((u) => new URL(u).hostname),
      catalog.apps.signal.uptime!,
      ...catalog.apps.facebook_messenger.services.map((s) => s.host),
      ...Object.values(catalog.platforms).flatMap((p) => p.endpoints.map((e) => e.host)),
      ...catalog.apps.telegram.datacenters.map((dc) => telegramDcHost(dc.name)),
    ];
    for (const name of names) expect(byHost.has(name), name).toBe(true);
    expect(new Set(standIns.map((s) => s.host)).size).toBe(standIns.length);
    expect(standIns.every((s) => s.standIn)).toBe(true);
  });

  it('carry the ports and networks the experiments need', () => {
    expect(byHost.get('e7.whatsapp.net')).toMatchObject({ https: true, tcpPorts: [5222], asn: 32934 });
    expect(byHost.get('dc1.telegram-dc.pharos.example')).toMatchObject({
      http: true,
      https: false,
      httpPorts: [443],
      asn: 62041,
    });
    expect(byHost.get('chat.signal.org')).toMatchObject({ https: true, issuer: 'pinned' });
    expect(byHost.get('uptime.signal.org')).toMatchObject({ http: false, https: false });
    for (const s of catalog.apps.facebook_messenger.services) expect(byHost.get(s.host)?.asn).toBe(32934);
    expect(byHost.get('www.instagram.com')?.asn).toBe(32934);
    expect(byHost.get('www.tiktok.com')?.asn).toBe(396986);
  });

  it('come after the scenario’s sites and give way to a site the scenario defines', () => {
    const mine: SiteSpec = {
      host: 'web.whatsapp.com',
      http: true,
      https: false,
      status: 503,
      addresses: 1,
      cert: 'valid',
      dns: 'ok',
      geoDns: false,
    };
    const sites = worldSites([mine]);
    expect(sites.slice(0, 3).map((s) => s.host)).toEqual([
      'www.example.com',
      'www.example.org',
      'web.whatsapp.com',
    ]);
    const site = sites.find((s) => s.host === 'web.whatsapp.com')!;
    expect(site).toMatchObject({ status: 503, https: false });
    expect(site.standIn).toBeUndefined();
    expect(sites.filter((s) => s.host === 'web.whatsapp.com')).toHaveLength(1);
  });
});

describe('what the lab writes for the probe', () => {
  const sites = worldSites([]);
  const plan = planAddresses(7, sites);

  it('a catalog whose data centres are the stand-ins and whose Signal CA is the lab’s pinned one', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nPINNED\n-----END CERTIFICATE-----\n';
    const lab = parseCatalog(JSON.parse(JSON.stringify(labCatalog(plan, sites, pem, catalog))));
    expect(lab.apps.telegram.datacenters).toEqual(
      catalog.apps.telegram.datacenters.map((dc) => ({
        name: dc.name,
        ip: plan.sites[telegramDcHost(dc.name)]!.all[0],
      })),
    );
    expect(lab.apps.telegram.datacenters.every((dc) => dc.ip.startsWith('10.107.'))).toBe(true);
    expect(lab.apps.signal.ca).toEqual([pem]);
    expect(lab.asn_prefixes['32934']).toContain(`${plan.sites['b-api.facebook.com']!.all[0]}/32`);
    // Everything else is the default catalog's.
    expect(lab.platforms).toEqual(catalog.platforms);
    expect(lab.apps.facebook_messenger).toEqual(catalog.apps.facebook_messenger);
  });

  it('an IP→ASN table the probe reads, with every stand-in that carries an ASN', () => {
    const table = new AsnTable();
    table.addCSV(asnTableCSV(plan, sites));
    expect(table.lookup(plan.sites['star.c10r.facebook.com']!.all[0]!)).toBe(32934);
    expect(table.lookup(plan.sites['www.youtube.com']!.all[0]!)).toBe(15169);
    expect(table.lookup(plan.sites['www.example.com']!.all[0]!)).toBeNull();
    expect(table.lookup(plan.proxy)).toBeNull();
  });
});

describe('stand-in certificates', () => {
  it('share one certificate naming them all; the pinned ones come from a CA the probe is not given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pharos-standin-certs-'));
    dirs.push(dir);
    const certs = await createLabCertificates(
      dir,
      [
        { host: 'www.tiktok.com', mode: 'valid', group: 'stand-ins' },
        { host: 'x.com', mode: 'valid', group: 'stand-ins' },
        { host: 'chat.signal.org', mode: 'valid', issuer: 'pinned', group: 'stand-ins' },
        { host: 'news.example.az', mode: 'valid' },
      ],
      'test',
    );
    expect(certs.leaves['www.tiktok.com']).toBe(certs.leaves['x.com']);
    const shared = new X509Certificate(certs.leaves['x.com']!.cert);
    expect(shared.subjectAltName).toBe('DNS:www.tiktok.com, DNS:x.com');
    const ca = new X509Certificate(certs.caPem);
    const pinned = new X509Certificate(certs.pinnedCaPem!);
    expect(shared.verify(ca.publicKey)).toBe(true);
    const signal = new X509Certificate(certs.leaves['chat.signal.org']!.cert);
    expect(signal.verify(pinned.publicKey)).toBe(true);
    expect(signal.verify(ca.publicKey)).toBe(false);
    expect(new X509Certificate(certs.leaves['news.example.az']!.cert).subjectAltName).toBe(
      'DNS:news.example.az',
    );
  });
});
