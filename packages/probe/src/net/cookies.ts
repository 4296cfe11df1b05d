/**
 * A minimal cookie jar for one redirect chain: some sites set a cookie and redirect to
 * themselves, and without sending it back a client loops until the redirect limit. Only
 * name=value per host is kept; attributes are ignored (the chain lives for seconds).
 */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  store(host: string, headers: ReadonlyArray<readonly [string, string]>): void {
    for (const [name, value] of headers) {
      if (name.toLowerCase() !== 'set-cookie') continue;
      const pair = value.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const jar = this.byHost.get(host) ?? new Map<string, string>();
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      this.byHost.set(host, jar);
    }
  }

  /** The Cookie header value for a host, or null when there is nothing to send. */
  header(host: string): string | null {
    const jar = this.byHost.get(host);
    if (!jar || jar.size === 0) return null;
    return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}
