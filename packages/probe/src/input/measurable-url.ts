/**
 * Which inputs Web Connectivity can measure: absolute http or https URLs with a host. Checked at
 * the boundary (CLI arguments, test lists) so a typo is reported before any packet is sent.
 */
export type URLCheck = { ok: true; url: URL } | { ok: false; reason: string };

export function checkMeasurableURL(text: string): URLCheck {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'the URL is empty' };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    // The most common mistake is a bare host name; say how to fix it.
    const hint = /^[\w.-]+(\/|$)/.test(trimmed)
      ? ' (no scheme: write http:// or https:// before the host)'
      : '';
    return { ok: false, reason: `not a valid URL${hint}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, reason: `scheme "${url.protocol.slice(0, -1)}" is not http or https` };
  }
  if (url.hostname === '') return { ok: false, reason: 'the URL has no host' };
  return { ok: true, url };
}
