import { describe, expect, it } from 'vitest';
import { LazyIPLocator, loadIPDatasets } from '../src/collector/geo.js';
import { parseIPv4, parseIPv6, RangeTable } from '../src/collector/ip-ranges.js';

describe('IP range tables', () => {
  it('parses IPv4 and IPv6 text strictly', () => {
    expect(parseIPv4('5.191.0.1')).toBe(((5 * 256 + 191) * 256 + 0) * 256 + 1);
    for (const bad of ['1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d'])
      expect(parseIPv4(bad)).toBeNull();
    expect(parseIPv6('2a01:6480::1')).toEqual([0x2a016480, 0, 0, 1]);
    expect(parseIPv6('::ffff:1.2.3.4')).toEqual([0, 0, 0xffff, 0x01020304]);
    expect(parseIPv6('::')).toEqual([0, 0, 0, 0]);
    expect(parseIPv6('1:2:3:4:5:6:7:8')).toEqual([0x10002, 0x30004, 0x50006, 0x70008]);
    for (const bad of [
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'fe80::1%eth0',
      ':1::',
      '1:2:3:4:5:6:7::8',
    ]) {
      expect(parseIPv6(bad), bad).toBeNull();
    }
  });

  it('finds the most specific of nested and overlapping ranges', () => {
    const t = new RangeTable(1, 2);
    t.add([100], [200], 1); // broad
    t.add([150], [150], 2); // nested single address
    t.add([180], [250], 3); // overlaps the broad one's end
    t.add([300], [310], 4);
    expect(
      [99, 100, 149, 150, 151, 179, 180, 200, 250, 251, 299, 305, 311].map((a) => t.lookup([a])),
    ).toEqual([null, 1, 1, 2, 1, 1, 3, 3, 3, null, null, 4, null]);
    expect(() => t.add([0], [1], 5)).toThrow(/not sorted/);
  });

  it('compares IPv6 addresses word by word', () => {
    const t = new RangeTable(4);
    t.add([0x2a016480, 0, 0, 0], [0x2a016480, 0x1ffff, 0xffffffff, 0xffffffff], 29049);
    expect(t.lookup(parseIPv6('2a01:6480:1::5')!)).toBe(29049);
    expect(t.lookup(parseIPv6('2a01:6480:2::')!)).toBeNull();
    expect(t.lookup(parseIPv6('2a01:647f:ffff::')!)).toBeNull();
  });
});

describe('the ip-location-db datasets', () => {
  it('derive country and AS of real addresses, and nothing for private ones', async () => {
    const started = performance.now();
    const locator = await loadIPDatasets();
    const ms = performance.now() - started;
    console.log(`IP datasets loaded in ${Math.round(ms)} ms`);
    expect(locator.lookup('5.191.0.1')).toEqual({ cc: 'AZ', asn: 31721 }); // Azercell
    expect(locator.lookup('5.133.224.9')).toEqual({ cc: 'AZ', asn: 196925 }); // AzerTelecom
    expect(locator.lookup('::ffff:5.191.0.1')).toEqual({ cc: 'AZ', asn: 31721 });
    expect(locator.lookup('2a01:6480::1')).toEqual({ cc: 'AZ', asn: 29049 }); // Delta Telecom
    for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.1.1', '::1', 'fd00::1', '100.64.0.1', 'not an ip']) {
      expect(locator.lookup(ip), ip).toEqual({ cc: null, asn: null });
    }
  });

  it('load lazily once, and a broken dataset leaves networks unknown instead of failing', async () => {
    let loads = 0;
    const lazy = new LazyIPLocator(async () => {
      loads++;
      return { lookup: () => ({ cc: 'AZ', asn: 1 }) };
    });
    expect(await Promise.all([lazy.lookup('1.1.1.1'), lazy.lookup('1.1.1.2')])).toEqual([
      { cc: 'AZ', asn: 1 },
      { cc: 'AZ', asn: 1 },
    ]);
    expect(loads).toBe(1);
    const reported: unknown[] = [];
    const broken = new LazyIPLocator(
      () =>
        loadIPDatasets({ asnV4: '/nonexistent', asnV6: '/nonexistent', countryV4: '/x', countryV6: '/y' }),
      (info) => reported.push(info.error?.message),
    );
    expect(await broken.lookup('5.191.0.1')).toEqual({ cc: null, asn: null });
    expect(reported[0]).toMatch(/ENOENT/);
  });
});
