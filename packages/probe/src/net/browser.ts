/**
 * The headers a desktop browser sends, so sites and middleboxes treat the probe like one.
 * The same list goes to the test helper (`http_request_headers`), which forwards it.
 */
export const USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

export const BROWSER_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['User-Agent', USER_AGENT],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
  ['Accept-Language', 'en-US,en;q=0.9'],
];
