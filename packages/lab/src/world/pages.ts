/** The pages the lab's sites serve: deterministic, so the probe and the test helper see the same bytes. */

const FILLER =
  'This page is served inside the Pharos lab, a small internet built in network namespaces on one ' +
  'machine. Nothing here ever leaves it. The text is long enough that a blockpage, a truncated ' +
  'response or an injected page looks different in length and in title from the real thing. ';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] ?? c);
}

/** A page of about 1.5 KB whose title names HOST. */
export function defaultPage(host: string): string {
  const name = escapeHtml(host);
  const paragraphs = Array.from({ length: 5 }, (_, i) => `<p>${i + 1}. ${FILLER}</p>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${name}</title></head>
<body>
<h1>${name}</h1>
${paragraphs}
</body>
</html>
`;
}

/** The head and tail of a SIZE-byte page: a title naming HOST, then padding. */
export function sizedPageParts(host: string): { head: string; tail: string } {
  const name = escapeHtml(host);
  return {
    head: `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${name}</title></head>\n<body>\n<pre>\n`,
    tail: '</pre>\n</body>\n</html>\n',
  };
}

/** SIZE bytes of page, in chunks of at most 64 KiB (a generator, so 32 MiB is never in memory at once). */
export function* sizedPage(host: string, size: number): Generator<Buffer> {
  const { head, tail } = sizedPageParts(host);
  const headBytes = Buffer.from(head);
  const tailBytes = Buffer.from(tail);
  if (size <= headBytes.length + tailBytes.length) {
    yield Buffer.concat([headBytes, tailBytes]).subarray(0, size);
    return;
  }
  yield headBytes;
  let padding = size - headBytes.length - tailBytes.length;
  const line = `${'x'.repeat(63)}\n`;
  const chunk = Buffer.from(line.repeat(1024)); // 64 KiB
  while (padding > 0) {
    const n = Math.min(padding, chunk.length);
    yield n === chunk.length ? chunk : chunk.subarray(0, n);
    padding -= n;
  }
  yield tailBytes;
}
