/** The helper's view of DNS: its configured resolver, or the system's. */
import { type Lookup, type LookupResult, lookupSystem, lookupUDP } from '@pharos/probe';

export function helperLookup(resolver: string | undefined): Lookup {
  return resolver ? (hostname, options) => lookupUDP(hostname, resolver, options) : lookupSystem;
}

/** Answers repeated lookups of a name from the first answer: the page fetch reuses the DNS step's. */
export function cachedLookup(lookup: Lookup): Lookup {
  const cache = new Map<string, Promise<LookupResult>>();
  return (hostname, options) => {
    const key = hostname.toLowerCase();
    let found = cache.get(key);
    if (!found) {
      found = lookup(hostname, options);
      cache.set(key, found);
    }
    return found;
  };
}
