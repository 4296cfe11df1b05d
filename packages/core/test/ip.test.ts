import { describe, expect, it } from 'vitest';
import { ipVersion, isBogon, isIP, isIPv4, isIPv6, isLoopback } from '../src/index.js';

describe('IP literals', () => {
  it('recognises IPv4 dotted quads and refuses near misses', () => {
    for (const ip of ['0.0.0.0', '93.184.216.34', '255.255.255.255']) expect(isIPv4(ip), ip).toBe(true);
    for (const ip of [
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1.2.3.-4',
      'a.b.c.d',
      '',
      'example.com',
    ]) {
      expect(isIPv4(ip), ip).toBe(false);
    }
  });

  it('recognises IPv6, compressed, with an IPv4 tail or a zone id', () => {
    for (const ip of [
      '::',
      '::1',
      '2001:db8::1',
      'fe80::1%eth0',
      '::ffff:1.2.3.4',
      '1:2:3:4:5:6:7:8',
      '64:ff9b::8.8.8.8',
    ]) {
      expect(isIPv6(ip), ip).toBe(true);
    }
    for (const ip of [
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::1',
      '1.2.3.4::',
      '1:2:3:4:5:6:7::8:9',
      '',
    ]) {
      expect(isIPv6(ip), ip).toBe(false);
    }
  });

  it('tells the version, and host names are not IPs', () => {
    expect(ipVersion('8.8.8.8')).toBe(4);
    expect(ipVersion('2001:4860:4860::8888')).toBe(6);
    expect(ipVersion('dns.google')).toBeNull();
    expect(isIP('[::1]')).toBe(false); // brackets belong to URLs, not to addresses
  });
});

describe('bogons (addresses that can never be a public web server)', () => {
  const bogons = {
    '0.0.0.0': 'unspecified',
    '10.10.34.35': 'private 10/8 (OONI QA dnsBlockingBOGON)',
    '100.64.0.1': 'carrier-grade NAT',
    '100.127.255.255': 'carrier-grade NAT, last address',
    '127.0.0.1': 'loopback',
    '169.254.1.1': 'link-local',
    '172.16.0.1': 'private 172.16/12',
    '172.31.255.255': 'private 172.16/12, last address',
    '192.0.0.8': 'IETF protocol assignments',
    '192.0.2.1': 'TEST-NET-1',
    '192.168.1.1': 'private 192.168/16',
    '198.18.0.1': 'benchmarking',
    '198.51.100.7': 'TEST-NET-2',
    '203.0.113.9': 'TEST-NET-3',
    '224.0.0.251': 'multicast',
    '240.0.0.1': 'reserved',
    '255.255.255.255': 'broadcast',
    '::': 'IPv6 unspecified',
    '::1': 'IPv6 loopback',
    'fc00::1': 'ULA',
    'fd12:3456::1': 'ULA',
    'fe80::1': 'link-local',
    'fe80::1%en0': 'link-local with zone',
    'ff02::1': 'multicast',
    '2001:db8::1': 'documentation',
    '100::1': 'discard-only',
    '::ffff:10.0.0.1': 'IPv4-mapped private',
    '::ffff:127.0.0.1': 'IPv4-mapped loopback',
  };
  for (const [ip, why] of Object.entries(bogons)) {
    it(`${ip} is a bogon (${why})`, () => expect(isBogon(ip)).toBe(true));
  }

  const publicAddresses = [
    '93.184.216.34',
    '8.8.8.8',
    '100.63.255.255', // just below CGNAT
    '100.128.0.0', // just above CGNAT
    '172.15.255.255', // just below 172.16/12
    '172.32.0.0', // just above 172.16/12
    '130.192.182.17',
    '2001:4860:4860::8888',
    '2a00:1450:4001::200e',
    '::ffff:8.8.8.8',
  ];
  for (const ip of publicAddresses) {
    it(`${ip} is not a bogon`, () => expect(isBogon(ip)).toBe(false));
  }

  it('non-IP text is not a bogon', () => {
    expect(isBogon('localhost')).toBe(false);
    expect(isBogon('')).toBe(false);
  });
});

describe('loopback', () => {
  it('covers 127/8, ::1 and IPv4-mapped loopback only', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
      expect(isLoopback(ip), ip).toBe(true);
    for (const ip of ['10.0.0.1', '::', '0.0.0.0', '93.184.216.34', 'localhost'])
      expect(isLoopback(ip), ip).toBe(false);
  });
});
