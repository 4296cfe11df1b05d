/**
 * Checks for single argument values. Each returns the normalised value or throws a UsageError
 * that names the option and says what a good value looks like.
 */
import { isIP } from 'node:net';
import { checkMeasurableURL } from '../input/measurable-url.js';
import { UsageError } from './usage-error.js';

/** `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address → `ip:port` (`[ipv6]:port`). */
export function parseResolverAddress(option: string, value: string, defaultPort = 53): string {
  const bad = (why: string) =>
    new UsageError(
      `${option} "${value}": ${why} (expected IP[:PORT], e.g. 8.8.8.8:53 or [2001:4860:4860::8888]:53)`,
    );
  let host = value.trim();
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(host);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (isIP(host) !== 6) {
    // With one colon it is IPv4:PORT; a bare IPv6 address has several and no port.
    const colon = host.lastIndexOf(':');
    if (colon >= 0) {
      portText = host.slice(colon + 1);
      host = host.slice(0, colon);
    }
  }
  const family = isIP(host);
  if (family === 0) throw bad('not an IP address (a resolver is given by address, not by name)');
  const port = portText === undefined ? defaultPort : parsePort(portText);
  if (port === null) throw bad(`port "${portText}" is not a number from 1 to 65535`);
  return family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

export function parseIntegerInRange(option: string, value: string, min: number): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`${option} "${value}": expected a whole number`);
  const n = Number(value.trim());
  if (n < min) throw new UsageError(`${option} "${value}": must be at least ${min}`);
  return n;
}

export function parseSeconds(option: string, value: string): number {
  const n = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new UsageError(`${option} "${value}": expected a number of seconds greater than 0, e.g. 10 or 2.5`);
  }
  return n;
}

/** An http(s) URL for a service (test helper, DoH); returned as given. */
export function parseServiceURL(option: string, value: string): string {
  const check = checkMeasurableURL(value);
  if (!check.ok) throw new UsageError(`${option} "${value}": ${check.reason}`);
  return value.trim();
}

export function parseCountryCode(option: string, value: string): string {
  if (!/^[A-Za-z]{2}$/.test(value.trim())) {
    throw new UsageError(`${option} "${value}": expected a two-letter country code (ISO 3166-1), e.g. AZ`);
  }
  return value.trim().toUpperCase();
}

/**
 * An ISO 3166-2 subdivision (`AZ-FUZ`), upper-cased. When the country is known (`country`, the
 * option that gave it and its code), the region must lie inside it: a region in another country
 * would put the probe's measurements on the wrong map.
 */
export function parseRegion(
  option: string,
  value: string,
  country?: { option: string; code: string },
): string {
  const region = value.trim().toUpperCase();
  if (!/^[A-Z]{2}-[A-Z0-9]{1,3}$/.test(region))
    throw new UsageError(`${option} "${value}": expected an ISO 3166-2 subdivision, e.g. AZ-FUZ`);
  if (country && country.code !== 'ZZ' && !region.startsWith(`${country.code}-`))
    throw new UsageError(`${option} ${region} is not in ${country.option} ${country.code}`);
  return region;
}

/** `AS29049` or `29049` → `AS29049` (OONI's spelling). */
export function parseASN(option: string, value: string): string {
  const match = /^(?:AS)?(\d{1,10})$/i.exec(value.trim());
  const n = match ? Number(match[1]) : Number.NaN;
  if (!(n >= 0 && n <= 4294967295)) {
    throw new UsageError(`${option} "${value}": expected an AS number, e.g. AS29049`);
  }
  return `AS${n}`;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
};

/** A byte count such as 5000000, 20MB or 512KiB (volunteers think of data plans in MB). */
export function parseByteSize(option: string, value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = m ? BYTE_UNITS[(m[2] ?? '').toUpperCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(`${option} "${value}": give a size such as 20MB, 512KiB or a number of bytes`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1) throw new UsageError(`${option} "${value}": must be at least one byte`);
  return bytes;
}
