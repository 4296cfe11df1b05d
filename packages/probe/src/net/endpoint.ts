/** Endpoints as OONI writes them: `1.2.3.4:443`, `[2001:db8::1]:443`. */
import { isIP } from 'node:net';

export function formatEndpoint(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Parses `ip:port` (IPv6 in brackets); null when it is not an IP literal and a port. */
export function parseEndpoint(endpoint: string): { ip: string; port: number } | null {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(endpoint) ?? /^([^:[\]]+):(\d{1,5})$/.exec(endpoint);
  if (!match) return null;
  const ip = match[1] as string;
  const port = Number(match[2]);
  if (isIP(ip) === 0 || port < 1 || port > 65535) return null;
  return { ip, port };
}

/** The URL's host without IPv6 brackets, as DNS, TLS (SNI) and sockets want it. */
export function urlHostname(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** The port a URL connects to: explicit, or the scheme's default. */
export function urlPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}
