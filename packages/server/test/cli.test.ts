import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, type ServerCliDeps } from '../src/cli/main.js';
import type { ServerFactory } from '../src/cli/serve.js';
import { recordingIO } from './cli-io-fixture.js';

/** Stands in for createServer: a Fastify app that answers, and the options it got. */
function fakeHelper() {
  const calls: Parameters<ServerFactory>[0][] = [];
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const createServer: ServerFactory = async (options) => {
    calls.push(options);
    const app = Fastify();
    app.get('/', async () => ({ helper: 'fake' }));
    // A request that stays open until the test releases it, as a slow control measurement would.
    app.get('/slow', async () => {
      await released;
      return { helper: 'slow' };
    });
    return { app, close: () => app.close() };
  };
  return { deps: { createServer } satisfies ServerCliDeps, calls, release };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pharos-server-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pharos', () => {
  it('prints usage for help and --help', async () => {
    for (const arg of ['help', '--help']) {
      const t = recordingIO(dir);
      expect(await main([arg], t.io, fakeHelper().deps)).toBe(0);
      expect(t.stdout()).toMatch(/^Usage: pharos <command> \[options\]/);
      expect(t.stdout()).toContain(
        'pharos serve [--data DIR] [--origin NAME] [--late-after SECONDS] [--host 127.0.0.1] [--port 8080]',
      );
    }
  });

  it('exits 2 with the usage on an unknown command or none', async () => {
    const t = recordingIO(dir);
    expect(await main(['srve'], t.io, fakeHelper().deps)).toBe(2);
    expect(t.stderr()).toMatch(/^pharos: unknown command "srve"\n\nUsage: pharos <command>/);
    const none = recordingIO(dir);
    expect(await main([], none.io, fakeHelper().deps)).toBe(2);
    expect(none.stderr()).toMatch(/^Usage: pharos/);
  });
});

describe('pharos serve', () => {
  it.each([
    [['--port', '70000'], /--port "70000": expected a port number from 0 to 65535/],
    [['--port'], /--port needs a value/],
    [['--host', 'not a host'], /--host "not a host": expected an IP address or host name/],
    [['--tls-cert', 'cert.pem'], /--tls-cert and --tls-key go together/],
    [['--tls-cert', 'cert.pem', '--tls-key', 'key.pem'], /--tls-cert cert.pem: cannot read it/],
    [['--resolver', 'dns.google:53'], /--resolver "dns.google:53": expected IP:PORT/],
    [['--ca', 'missing.pem'], /--ca missing.pem: cannot read it/],
    [['--log=yes'], /--log takes no value/],
    [['--verbose'], /unknown option --verbose/],
    [['--late-after', 'soon'], /--late-after "soon": expected a number of seconds/],
    [['extra'], /unexpected argument "extra"/],
    [['--beacon-interval', 'often'], /--beacon-interval "often": expected a duration such as 30s/],
    [['--detect-every', '0s'], /--detect-every "0s": expected a duration/],
    [['--detect-config', 'missing.json'], /--detect-config missing.json: cannot read it/],
  ])('serve %j exits 2 with a message, starting nothing', async (args, message) => {
    const t = recordingIO(dir);
    const { deps, calls } = fakeHelper();
    expect(await main(['serve', ...args], t.io, deps)).toBe(2);
    expect(t.stderr()).toMatch(message);
    expect(calls).toHaveLength(0);
  });

  it('rejects a key file that holds no key', async () => {
    await writeFile(path.join(dir, 'key.pem'), 'nothing here\n');
    await writeFile(path.join(dir, 'cert.pem'), 'nothing here\n');
    const t = recordingIO(dir);
    expect(
      await main(['serve', '--tls-cert', 'cert.pem', '--tls-key', 'key.pem'], t.io, fakeHelper().deps),
    ).toBe(2);
    expect(t.stderr()).toContain('--tls-cert cert.pem: no PEM certificate in it');
  });

  it('listens, prints the URL, answers, and stops cleanly on SIGTERM', async () => {
    const t = recordingIO(dir);
    const { deps, calls } = fakeHelper();
    const serving = main(['serve', '--port', '0', '--resolver', '127.0.0.1:5353'], t.io, deps);
    await waitFor(() => t.stdout().includes('listening on'));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(t.stdout())?.[1];
    expect(url).toBeDefined();
    expect(t.stdout()).toContain(`pharos-probe run --th ${url}`);
    expect(calls).toEqual([
      {
        dataDir: path.join(dir, 'pharos-data'),
        origin: undefined,
        https: undefined,
        logger: { level: 'warn', stream: t.io.stderr },
        testHelper: { resolver: '127.0.0.1:5353', extraCA: undefined },
        detection: { beaconInterval: 60, measurementStep: 600, every: 60, config: undefined },
      },
    ]);
    expect(await (await fetch(url as string)).json()).toEqual({ helper: 'fake' });

    t.signal('SIGTERM');
    expect(await serving).toBe(0);
    expect(t.stderr()).toContain('pharos: SIGTERM: stopping the server');
    expect(t.stderr()).toContain('pharos: server stopped');
    await expect(fetch(url as string)).rejects.toThrow();
  });

  it('a second signal stops at once, without waiting for open requests', async () => {
    const t = recordingIO(dir);
    const helper = fakeHelper();
    const serving = main(['serve', '--port', '0'], t.io, helper.deps);
    await waitFor(() => t.stdout().includes('listening on'));
    const url = /listening on (\S+)\n/.exec(t.stdout())?.[1] as string;
    const open = fetch(`${url}slow`).then((r) => r.json());
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.signal('SIGINT');
    t.signal('SIGINT');
    expect(await serving).toBe(130);
    expect(t.stderr()).toContain('pharos: SIGINT: stopped without waiting for open requests');
    helper.release();
    expect(await open).toEqual({ helper: 'slow' });
  });

  it('exits 1 when the port is taken', async () => {
    const blocker = Fastify();
    await blocker.listen({ host: '127.0.0.1', port: 0 });
    const port = (blocker.server.address() as { port: number }).port;
    try {
      const t = recordingIO(dir);
      expect(await main(['serve', '--port', String(port)], t.io, fakeHelper().deps)).toBe(1);
      expect(t.stderr()).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1 port ${port}: .*EADDRINUSE`));
    } finally {
      await blocker.close();
    }
  });
});

describe('pharos lab', () => {
  it('says the lab comes with the repository checkout when it is not installed', async () => {
    const t = recordingIO(dir);
    const code = await main(['lab', 'run'], t.io, {
      ...fakeHelper().deps,
      labSpecifier: '@pharos/no-such-lab/cli',
    });
    expect(code).toBe(1);
    expect(t.stderr()).toContain(
      "pharos: the lab is not installed here (Cannot find package '@pharos/no-such-lab",
    );
    expect(t.stderr()).toContain('The lab is a development tool that comes with the repository checkout');
  });

  it('says the build is incomplete when the lab is there but a module it needs is not', async () => {
    const file = path.join(dir, 'lab-cli.mjs');
    await writeFile(file, "export { main } from './world/index.js';\n");
    const t = recordingIO(dir);
    const code = await main(['lab'], t.io, { ...fakeHelper().deps, labSpecifier: pathToFileURL(file).href });
    expect(code).toBe(1);
    expect(t.stderr()).toMatch(/^pharos: the lab could not be loaded: .*world\/index\.js/);
    expect(t.stderr()).toContain('run "npm run build" in the repository checkout');
  });

  it("hands the arguments to the lab's main and returns its exit code", async () => {
    const file = path.join(dir, 'lab-cli.mjs');
    await writeFile(
      file,
      "export async function main(argv) { return argv.join(' ') === 'list --json' ? 7 : 99; }\n",
    );
    const lab = pathToFileURL(file).href;
    const t = recordingIO(dir);
    expect(await main(['lab', 'list', '--json'], t.io, { ...fakeHelper().deps, labSpecifier: lab })).toBe(7);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
