/** The lab world's pure parts: addresses, censor rules → kernel rules, DNS zone, stream parsing. No root needed. */
import net from 'node:net';
import tls from 'node:tls';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { CensorRule, SiteSpec } from '../src/spec.js';
import { planAddresses } from '../src/world/addressing.js';
import { planCensor, sniBytes } from '../src/world/censor-plan.js';
import { buildResponse, parseQuery } from '../src/world/dns-wire.js';
import { defaultSite, interceptions, worldSites } from '../src/world/lab.js';
import { httpHost, tlsServerName } from '../src/world/stream-peek.js';
import { buildZone, lookupZone } from '../src/world/zone.js';

function site(host: string, extra: Partial<SiteSpec> = {}): SiteSpec {
  return { ...defaultSite(host), ...extra };
}

const sites = worldSites([
  site('news.example.az', { addresses: 2 }),
  site('cdn.example', { geoDns: true, addresses: 2 }),
]);
const plan = planAddresses(3, sites);
const context = interceptions(plan, sites);
const rule = (
  match: CensorRule['match'],
  action: CensorRule['action'],
  via: CensorRule['via'] = 'resolver',
) => ({
  match,
  action,
  via,
});

describe('lab addresses', () => {
  it('gives lab k its own 10.(100+k) network, with consecutive site addresses', () => {
    expect(plan).toMatchObject({
      probe: '10.103.1.2',
      router: '10.103.1.1',
      ispResolver: '10.103.1.1',
      authoritative: '10.103.16.2',
      publicResolver: '10.103.16.3',
      testHelper: '10.103.16.4',
      proxy: '10.103.16.5',
    });
    expect(plan.sites['www.example.com']!.all).toEqual(['10.103.17.1']);
    expect(plan.sites['news.example.az']!.all).toEqual(['10.103.17.3', '10.103.17.4']);
    // geo-DNS doubles the addresses: the ISP gets the first half, everyone else the second.
    expect(plan.sites['cdn.example']).toEqual({
      all: ['10.103.17.5', '10.103.17.6', '10.103.17.7', '10.103.17.8'],
      forIsp: ['10.103.17.5', '10.103.17.6'],
      forOthers: ['10.103.17.7', '10.103.17.8'],
    });
    expect(() => planAddresses(100, sites)).toThrow(/out of range/);
  });

  it('always has the default sites and refuses the lab its own names', () => {
    expect(worldSites([], { standIns: false }).map((s) => s.host)).toEqual([
      'www.example.com',
      'www.example.org',
    ]);
    // The platform stand-ins come after them (and after the scenario's sites).
    expect(
      worldSites([])
        .map((s) => s.host)
        .slice(0, 3),
    ).toEqual(['www.example.com', 'www.example.org', 'e1.whatsapp.net']);
    expect(() => worldSites([site('th.pharos.example')])).toThrow(/lab's own names/);
  });
});

describe('DNS zone', () => {
  const zone = buildZone(plan, [
    ...sites,
    site('gone.example', { dns: 'nxdomain' }),
    site('lo.example', { dns: 'localhost' }),
  ]);

  it('answers per view, NXDOMAIN for unknown names and NODATA for AAAA', () => {
    expect(lookupZone(zone, 'CDN.example.', 'A', 'isp').addresses).toEqual(['10.103.17.5', '10.103.17.6']);
    expect(lookupZone(zone, 'cdn.example', 'A', 'others').addresses).toEqual(['10.103.17.7', '10.103.17.8']);
    expect(lookupZone(zone, 'th.pharos.example', 'A', 'others').addresses).toEqual(['10.103.16.4']);
    expect(lookupZone(zone, 'nope.example', 'A', 'others').rcode).toBe('NXDOMAIN');
    expect(lookupZone(zone, 'gone.example', 'A', 'others').rcode).toBe('NXDOMAIN');
    expect(lookupZone(zone, 'lo.example', 'A', 'others').addresses).toEqual(['127.0.0.1']);
    expect(lookupZone(zone, 'news.example.az', 'AAAA', 'others')).toEqual({
      rcode: 'NOERROR',
      addresses: [],
    });
  });

  it('encodes answers that a resolver decodes', () => {
    const query = parseQuery(
      dnsPacket.encode({
        type: 'query',
        id: 7,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name: 'x.example' }],
      }),
    )!;
    const answer = dnsPacket.decode(
      buildResponse(query, { rcode: 'NOERROR', addresses: ['10.1.2.3'], recursionAvailable: true }),
    );
    expect(answer).toMatchObject({ id: 7, rcode: 'NOERROR', flag_rd: true, flag_ra: true });
    expect(answer.answers).toMatchObject([{ type: 'A', name: 'x.example', data: '10.1.2.3' }]);
    const nx = dnsPacket.decode(buildResponse(query, { rcode: 'NXDOMAIN' })) as { rcode?: string };
    expect(nx.rcode).toBe('NXDOMAIN');
  });
});

describe('censor rules → kernel rules', () => {
  it('matches the exact SNI encoding, so a name never matches its subdomains', () => {
    expect(sniBytes('example.com').toString('hex')).toBe('00000b6578616d706c652e636f6d');
    const { iptables } = planCensor([rule({ kind: 'sni', name: 'example.com' }, { kind: 'reset' })], context);
    expect(iptables).toContain(
      '-A PHAROS -p tcp -m string --algo bm --icase --hex-string "|00000b6578616d706c652e636f6d|" -j REJECT --reject-with tcp-reset',
    );
    // The chain sees forwarded traffic and traffic DNAT-ed to the router's interceptors.
    expect(iptables).toContain('-A FORWARD -j PHAROS');
    expect(iptables).toContain('-A INPUT -i r0 -j PHAROS');
  });

  it('matches the Host header line for host rules', () => {
    const { iptables } = planCensor([rule({ kind: 'host', name: 'a.example' }, { kind: 'drop' })], context);
    expect(iptables).toContain(`"|${Buffer.from('Host: a.example\r\n').toString('hex')}|" -j DROP`);
  });

  it('turns dst rules into nft rules on every address of the site', () => {
    const { nft } = planCensor(
      [
        rule({ kind: 'dst', target: 'news.example.az', port: 443 }, { kind: 'reset' }),
        rule({ kind: 'dst', target: '10.103.17.1' }, { kind: 'drop' }),
      ],
      context,
    );
    const forward = nft.slice(nft.indexOf('chain forward'), nft.indexOf('chain output'));
    expect(forward).toContain('ip daddr { 10.103.17.3, 10.103.17.4 } tcp dport 443 reject with tcp reset');
    expect(forward).toContain('ip daddr 10.103.17.1 drop');
    expect(forward.indexOf('tcp dport 443 reject')).toBeLessThan(
      forward.indexOf('ip daddr 10.103.17.1 drop'),
    );
    // Traffic DNAT-ed to a router interceptor is judged by its original destination.
    expect(nft).toContain('iifname "r0" ct status dnat ct original ip daddr 10.103.17.1 drop');
  });

  it('blacks out everything, the ISP resolver included, for all + drop', () => {
    const { nft } = planCensor([rule({ kind: 'all' }, { kind: 'drop' })], context);
    expect(nft).toMatch(/chain forward \{[^}]*\n {4}drop\n/);
    expect(nft).toContain('iifname { "r0", "r1" } drop');
    expect(nft).toContain('oifname { "r0", "r1" } drop');
  });

  it('throttles by connection mark and htb classes', () => {
    const result = planCensor(
      [
        rule({ kind: 'sni', name: 'news.example.az' }, { kind: 'throttle', rate: '128kbit' }),
        rule({ kind: 'all' }, { kind: 'throttle', rate: '2mbit' }),
      ],
      context,
    );
    expect(result.iptables).toMatch(/-A PHAROS_MARK -p tcp -m string .* -j CONNMARK --set-mark 0x10/);
    expect(result.nft).toContain('ct mark 0x10 meta priority set 1:10');
    expect(result.tc).toContain(
      'class add dev r0 parent 1:1 classid 1:10 htb rate 128kbit ceil 128kbit quantum 1514',
    );
    expect(result.tc).toContain(
      'class add dev r1 parent 1: classid 1:1 htb rate 2mbit ceil 2mbit quantum 1514',
    );
  });

  it('DNATs DNS to the on-path censor only for via: path, and port 80 to the middlebox only for blockpages', () => {
    const resolverOnly = planCensor(
      [rule({ kind: 'dns_name', name: 'a.example' }, { kind: 'nxdomain' })],
      context,
    );
    expect(resolverOnly.nft).not.toContain('dnat');
    expect(resolverOnly.router.dns).toEqual([
      { name: 'a.example', via: 'resolver', action: { kind: 'nxdomain' } },
    ]);
    const path = planCensor(
      [rule({ kind: 'dns_name', name: 'a.example' }, { kind: 'spoof', address: 'proxy' }, 'path')],
      context,
    );
    expect(path.nft).toContain('iifname "r0" ip daddr 10.103.16.3 udp dport 53 dnat ip to 10.103.1.1:5301');
    expect(path.nft).toContain('iifname "r0" ip daddr != 10.103.1.1 tcp dport 53 dnat ip to 10.103.1.1:5300');
    expect(path.router.dns[0]!.action).toEqual({ kind: 'spoof', address: '10.103.16.5' });
    const page = planCensor(
      [rule({ kind: 'host', name: 'a.example' }, { kind: 'blockpage', html: 'x' })],
      context,
    );
    expect(page.nft).toContain('iifname "r0" ip daddr 10.103.17.3 tcp dport 80 dnat ip to 10.103.1.1:');
    expect(page.router.blockpages).toEqual([{ host: 'a.example', html: 'x' }]);
  });

  it('names the rule that cannot be applied', () => {
    expect(() =>
      planCensor([rule({ kind: 'sni', name: 'a.example' }, { kind: 'spoof', address: 'bogon' })], context),
    ).toThrow(/censor rule 1 .*spoof does not apply to a sni match/);
    expect(() =>
      planCensor(
        [
          rule({ kind: 'all' }, { kind: 'drop' }),
          rule({ kind: 'dst', target: 'nowhere.example' }, { kind: 'drop' }),
        ],
        context,
      ),
    ).toThrow(/censor rule 2 .*nowhere\.example is neither/);
    expect(() => planCensor([rule({ kind: 'all' }, { kind: 'throttle', rate: 'fast' })], context)).toThrow(
      /tc rate/,
    );
  });
});

describe('stream parsing', () => {
  it('reads the SNI of a real ClientHello', async () => {
    const hello = await new Promise<Buffer>((resolve, reject) => {
      const server = net.createServer((socket) => {
        socket.once('data', (data) => {
          resolve(data);
          socket.destroy();
          server.close();
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        tls.connect({ host: '127.0.0.1', port, servername: 'News.Example.az' }).on('error', () => {});
      });
      server.on('error', reject);
    });
    expect(tlsServerName(hello)).toBe('news.example.az');
    expect(tlsServerName(hello.subarray(0, 20))).toBeUndefined();
  });

  it('reads the Host of a request head', () => {
    expect(httpHost(Buffer.from('GET / HTTP/1.1\r\nhost: WWW.Example.com:80\r\nAccept: */*\r\n\r\n'))).toBe(
      'www.example.com',
    );
    expect(httpHost(Buffer.from('GET / HTTP/1.0\r\n\r\n'))).toBeUndefined();
  });
});
