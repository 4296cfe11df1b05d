/** A collector named on the command line, and the submission endpoint under it. */

export interface Collector {
  /** As the user gave it (normalised): what messages and the ledger name. */
  base: string;
  endpoint: URL;
}

export const SUBMISSION_PATH = 'api/v1/measurements';

/**
 * `https://collector.example` → `https://collector.example/api/v1/measurements`. A base with a
 * path prefix keeps it (`https://example.org/pharos/` → `…/pharos/api/v1/measurements`), and a URL
 * that already ends in the endpoint is used as is. Throws with a reason a user can act on.
 */
export function parseCollector(text: string): Collector {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error('not a valid URL (expected e.g. https://collector.example/)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`scheme "${url.protocol.slice(0, -1)}" is not http or https`);
  }
  if (url.username || url.password) throw new Error('user names and passwords in the URL are not supported');
  if (url.search || url.hash) throw new Error('the URL must not have a query (?…) or fragment (#…)');
  const base = new URL(url.href);
  if (!url.pathname.endsWith(`/${SUBMISSION_PATH}`)) {
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    return { base: base.href, endpoint: new URL(SUBMISSION_PATH, base) };
  }
  base.pathname = url.pathname.slice(0, -SUBMISSION_PATH.length);
  return { base: base.href, endpoint: url };
}
