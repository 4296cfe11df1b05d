/** `pharos serve` in process, with the real store: data directory, restart, defaults. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { recordingIO } from './cli-io-fixture.js';
import { body, signed } from './collector-fixtures.js';

async function listening(t: ReturnType<typeof fakeIO>): Promise<string> {
  for (let i = 0; i < 2000 && !t.stdout().includes('listening on'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(t.stdout())?.[1];
  if (!url) throw new Error(`not listening: ${t.stdout()}${t.stderr()}`);
  return url;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-serve-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pharos serve --data', () => {
  it('takes measurements into the data directory, and has them after a restart', async () => {
    const items = signed(2);
    const first = recordingIO(dir);
    const serving = main(
      ['serve', '--data', 'evidence', '--port', '0', '--origin', 'serve.test/log'],
      first.io,
    );
    const url = await listening(first);
    expect(first.stdout()).toContain(`data in ${path.join(dir, 'evidence')}\n`);
    expect(first.stdout()).toContain(`probes submit to ${url}api/v1/measurements`);
    const res = await fetch(`${url}api/v1/measurements`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: body(items),
    });
    expect(res.status).toBe(200);
    first.signal('SIGTERM');
    expect(await serving).toBe(0);
    expect(first.stderr()).toContain('pharos: server stopped');

    const second = recordingIO(dir);
    const again = main(['serve', '--data', 'evidence', '--port', '0'], second.io);
    const url2 = await listening(second);
    const stored = await fetch(`${url2}api/v1/measurements/${items[1]!.id}`);
    expect(stored.status).toBe(200);
    expect(((await stored.json()) as { log_index: number }).log_index).toBe(1);
    expect(await (await fetch(`${url2}log/vkey`)).text()).toMatch(/^serve\.test\/log\+[0-9a-f]{8}\+/);
    second.signal('SIGINT');
    expect(await again).toBe(0);
  });

  it('uses ./pharos-data without --data, and says so', async () => {
    const t = recordingIO(dir);
    const serving = main(['serve', '--port', '0'], t.io);
    await listening(t);
    expect(t.stdout()).toContain(
      `data in ${path.join(dir, 'pharos-data')} (the default, ./pharos-data: --data DIR to choose)`,
    );
    t.signal('SIGTERM');
    expect(await serving).toBe(0);
  });

  it.each([
    [['--origin', 'has space'], /--origin "has space": expected a name without spaces or "\+"/],
    [['--origin', 'a+b'], /--origin "a\+b"/],
    [['--data', ''], /--data needs a directory/],
    [['--data', 'a', '--data', 'b'], /--data may be given only once/],
  ])('serve %j exits 2 with a message', async (args, message) => {
    const t = recordingIO(dir);
    expect(await main(['serve', ...args], t.io)).toBe(2);
    expect(t.stderr()).toMatch(message);
  });

  it('exits 1 with the reason when the data directory cannot be used', async () => {
    await writeFile(path.join(dir, 'a-file'), 'not a directory\n');
    const t = recordingIO(dir);
    expect(await main(['serve', '--data', 'a-file/evidence', '--port', '0'], t.io)).toBe(1);
    expect(t.stderr()).toContain(
      `pharos: cannot start the server with data in ${path.join(dir, 'a-file/evidence')}: `,
    );
    expect(t.stderr()).toMatch(/ENOTDIR|not a directory/);
  });
});
