import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CensorRule, SiteSpec } from '../spec.js';
import { type AddressPlan, IFACE, planAddresses } from './addressing.js';
import { type CensorContext, planCensor } from './censor-plan.js';
import { type CertRequest, createLabCertificates } from './certificates.js';
import { NamespaceProcess } from './children.js';
import { run } from './commands.js';
import type { Interception, RouterConfig, ServicesConfig } from './config.js';
import { LAB_NAMES, normalizeName } from './names.js';
import {
  createNetwork,
  deleteNamespaces,
  deleteNamespacesSync,
  type LabNamespaces,
  namespaceList,
  namespaceNames,
  namespacePids,
  namespacePidsSync,
  probePort,
  removeNetnsEtc,
  writeNetnsEtc,
} from './namespaces.js';
import { preflight } from './preflight.js';
import {
  claimIndex,
  cleanupStaleLabs,
  type LiveLab,
  registerLab,
  releaseIndex,
  unregisterLab,
} from './registry.js';
import { planSiteRates } from './site-rates.js';
import { asnTableCSV, defaultSite, labCatalog, standInSites, type WorldSite } from './standins.js';
import { buildZone } from './zone.js';

export interface LabOptions {
  sites: SiteSpec[];
  censor: CensorRule[];
  workDir: string;
  log?: (line: string) => void;
  /** The platform and app stand-ins in the default internet (default true). */
  standIns?: boolean;
  /**
   * Issue 5: several probes, each in its own namespace (phx<k>-p<i>) on a bridge behind the ISP
   * router, at 10.K.1.3 upward. Censor rules may then be scoped to some of them.
   */
  probes?: string[];
}

/** A long-running process inside the lab (a server, a probe's beacon); its output goes to a file. */
export interface LabProcess {
  readonly pid: number | undefined;
  /** Resolves with the exit code (null: killed) when it ends. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after a grace period; resolves once it is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface LabAddresses {
  probe: string;
  router: string;
  ispResolver: string;
  publicResolver: string;
  testHelper: string;
  proxy: string;
  /** Every address of every site (both halves for geo-DNS sites). */
  sites: Record<string, string[]>;
  /** Issue 5: each probe's address, by name (empty unless the lab has several probes). */
  probes: Record<string, string>;
  /** The authoritative DNS server (not an address the probe is told about). */
  authoritative: string;
}

export interface RunInOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  onStderr?: (chunk: string) => void;
  /** Kills the command (and everything it started) when aborted. */
  signal?: AbortSignal;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface LabHandle {
  readonly id: string;
  readonly workDir: string;
  /** PEM of the lab CA. */
  readonly caCertFile: string;
  readonly addresses: LabAddresses;
  readonly namespaces: LabNamespaces;
  /** The probe's network options in this lab: --th, --resolver (the public resolver), --doh, --ca. */
  readonly probeNetworkArgs: string[];
  /** The catalog pointing the app and platform experiments at the lab's stand-ins. */
  readonly catalogFile: string;
  /** The IP→ASN table (start,end,asn) of the lab's sites that carry an ASN. */
  readonly asnTableFile: string;
  /** What the app and platform experiments need besides probeNetworkArgs: --catalog, --asn-table. */
  readonly appProbeArgs: string[];
  /** Run a command inside the client (probe) namespace; resolves when it exits (code null: killed on timeout). */
  runInClient(argv: string[], options?: RunInOptions): Promise<RunResult>;
  /** Run a command inside one probe's namespace (labs with several probes). */
  runInProbe(probe: string, argv: string[], options?: RunInOptions): Promise<RunResult>;
  /**
   * Start a long-running process in the internet namespace or in a probe's, its stdout and stderr
   * appended to LOGFILE; it is killed with the lab at teardown.
   */
  startProcess(where: { probe: string } | 'internet', argv: string[], logFile: string): LabProcess;
  /** Take a probe's link down (it is offline: no carrier, nothing gets through) or bring it back. */
  setProbeOnline(probe: string, online: boolean): Promise<void>;
  /** Replace the censor's rules (kernel rules and DNS behaviour). */
  applyCensor(rules: CensorRule[]): Promise<void>;
  /** Kill the lab's processes, delete its namespaces and files. Idempotent. */
  teardown(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
const ACK_TIMEOUT_MS = 5_000;
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;

export { defaultSite };

/**
 * The lab's sites: the default internet's two, plus (or replaced by) the scenario's, then the
 * platform stand-ins the scenario did not redefine (last, so they never move anyone's address).
 */
export function worldSites(sites: SiteSpec[], options: { standIns?: boolean } = {}): WorldSite[] {
  const reserved = new Set<string>([LAB_NAMES.th, LAB_NAMES.publicResolver, LAB_NAMES.proxy]);
  const byHost = new Map<string, WorldSite>();
  for (const host of LAB_NAMES.defaultSites) byHost.set(host, defaultSite(host));
  for (const site of sites) {
    const host = normalizeName(site.host);
    if (!HOST_NAME.test(host)) throw new Error(`site host ${JSON.stringify(site.host)} is not a DNS name`);
    if (reserved.has(host)) throw new Error(`site host ${host} is one of the lab's own names`);
    byHost.set(host, { ...site, host });
  }
  if (options.standIns ?? true)
    for (const standIn of standInSites()) if (!byHost.has(standIn.host)) byHost.set(standIn.host, standIn);
  return [...byHost.values()];
}

/**
 * Throws what planCensor would say about RULES in a lab with these sites and probes, without
 * building one (a timeline's later rule sets are checked before the run starts).
 */
export function checkCensorRules(sites: WorldSite[], probes: string[], rules: CensorRule[]): void {
  planCensor(rules, interceptions(planAddresses(0, sites, probes), sites));
}

/** Where the router's interceptors listen: one local port per original destination. */
export function interceptions(plan: AddressPlan, sites: SiteSpec[]): CensorContext {
  const dnsInterceptions: Interception[] = [
    { port: 5300, original: null },
    { port: 5301, original: plan.publicResolver },
    { port: 5302, original: plan.authoritative },
  ];
  const http = [plan.proxy, ...sites.filter((s) => s.http).flatMap((s) => plan.sites[s.host]?.all ?? [])];
  const httpInterceptions = http.map((original, i) => ({ port: 8001 + i, original }));
  return { plan, dnsInterceptions, httpInterceptions };
}

/** The compiled twin of a world module (tests run from the TypeScript sources; children run compiled code). */
export function childScript(name: 'services-main' | 'router-main' | 'incident-watch-main'): string {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.js')
    ? join(dirname(here), `${name}.js`)
    : join(dirname(here), '..', '..', 'dist', 'world', `${name}.js`);
  if (!existsSync(compiled))
    throw new Error(`${compiled} is missing: build the lab first (npx tsc -b packages/lab)`);
  return compiled;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

class Lab implements LabHandle, LiveLab {
  readonly id: string;
  readonly namespaces: LabNamespaces;
  readonly addresses: LabAddresses;
  caCertFile = '';
  catalogFile = '';
  asnTableFile = '';
  private services?: NamespaceProcess;
  private router?: NamespaceProcess;
  private readonly clients = new Set<ChildProcess>();
  private readonly context: CensorContext;
  private censorQueue: Promise<void> = Promise.resolve();
  private throttled = false;
  private perSegment = false;
  private requestId = 0;
  private closed = false;
  private teardownPromise?: Promise<void>;
  private syncDone = false;

  constructor(
    readonly k: number,
    readonly workDir: string,
    private readonly plan: AddressPlan,
    private readonly sites: WorldSite[],
    private readonly log: (line: string) => void,
    private readonly probeNames: string[] = [],
  ) {
    this.id = `phx${k}`;
    this.namespaces = namespaceNames(k, probeNames);
    this.context = interceptions(plan, sites);
    this.addresses = {
      probe: plan.probe,
      router: plan.router,
      ispResolver: plan.ispResolver,
      publicResolver: plan.publicResolver,
      testHelper: plan.testHelper,
      proxy: plan.proxy,
      authoritative: plan.authoritative,
      sites: Object.fromEntries(Object.entries(plan.sites).map(([host, a]) => [host, a.all])),
      probes: { ...plan.probes },
    };
  }

  get probeNetworkArgs(): string[] {
    return [
      '--th',
      `https://${LAB_NAMES.th}/`,
      '--resolver',
      `${this.plan.publicResolver}:53`,
      '--doh',
      `https://${LAB_NAMES.publicResolver}/dns-query`,
      '--ca',
      this.caCertFile,
    ];
  }

  get appProbeArgs(): string[] {
    return ['--catalog', this.catalogFile, '--asn-table', this.asnTableFile];
  }

  async build(censor: CensorRule[]): Promise<void> {
    const { plan, sites, workDir, namespaces: ns } = this;
    const certRequests: CertRequest[] = [
      { host: LAB_NAMES.th, mode: 'valid' },
      { host: LAB_NAMES.publicResolver, mode: 'valid' },
      ...sites
        .filter((s) => s.https)
        .map((s) => ({
          host: s.host,
          mode: s.cert,
          issuer: s.issuer ?? 'lab',
          ...(s.standIn ? { group: 'stand-ins' } : {}),
        })),
    ];
    const [certs] = await Promise.all([
      createLabCertificates(workDir, certRequests, this.id),
      createNetwork(ns, plan).then(() => this.shapeSlowSites()),
    ]);
    this.caCertFile = certs.caFile;
    writeNetnsEtc(ns, plan);
    this.catalogFile = join(workDir, 'catalog.json');
    this.asnTableFile = join(workDir, 'asn.csv');
    writeFileSync(
      this.catalogFile,
      `${JSON.stringify(labCatalog(plan, sites, certs.pinnedCaPem), null, 2)}\n`,
    );
    writeFileSync(this.asnTableFile, asnTableCSV(plan, sites));

    const services: ServicesConfig = {
      zone: buildZone(plan, sites),
      ispSource: plan.routerInternet,
      authoritative: plan.authoritative,
      publicResolver: plan.publicResolver,
      testHelper: plan.testHelper,
      proxy: plan.proxy,
      caPem: certs.caPem,
      labPrefix: `10.${plan.octet}.`,
      testHelperTls: certs.leaves[LAB_NAMES.th]!,
      dohTls: certs.leaves[LAB_NAMES.publicResolver]!,
      sites: sites.map((s) => ({
        host: s.host,
        addresses: plan.sites[s.host]?.all ?? [],
        http: s.http,
        https: s.https,
        status: s.status,
        body: s.body,
        redirect: s.redirect,
        size: s.size,
        tls: certs.leaves[s.host],
        ...(s.tcpPorts?.length ? { tcpPorts: s.tcpPorts } : {}),
        ...(s.httpPorts?.length ? { httpPorts: s.httpPorts } : {}),
        ...(s.standIn ? { sharedTls: true } : {}),
      })),
    };
    const router: RouterConfig = {
      ispResolver: plan.ispResolver,
      authoritative: plan.authoritative,
      dnsInterceptions: this.context.dnsInterceptions,
      httpInterceptions: this.context.httpInterceptions,
      rules: { dns: [], blockpages: [] },
    };
    const servicesFile = join(workDir, 'services.json');
    const routerFile = join(workDir, 'router.json');
    writeFileSync(servicesFile, JSON.stringify(services), { mode: 0o600 });
    writeFileSync(routerFile, JSON.stringify(router), { mode: 0o600 });
    this.services = new NamespaceProcess(
      'services',
      ns.internet,
      childScript('services-main'),
      [servicesFile],
      join(workDir, 'services.log'),
    );
    this.router = new NamespaceProcess(
      'router',
      ns.router,
      childScript('router-main'),
      [routerFile],
      join(workDir, 'router.log'),
    );
    const ready = await Promise.all([
      this.services.waitReady(READY_TIMEOUT_MS),
      this.router.waitReady(READY_TIMEOUT_MS),
    ]);
    for (const warning of ready.flatMap((r) => r.warnings ?? []))
      this.log(`lab ${this.id}: warning: ${warning}`);
    await this.applyCensor(censor);
  }

  /** Sites with a `rate`: shaped in the internet namespace, for everyone. */
  private async shapeSlowSites(): Promise<void> {
    const rates = planSiteRates(this.sites, this.plan);
    if (!rates) return;
    await run(['tc', '-n', this.namespaces.internet, '-batch', '-'], { input: `${rates.tc.join('\n')}\n` });
    await run(['ip', 'netns', 'exec', this.namespaces.internet, 'nft', '-f', '-'], { input: rates.nft });
    for (const line of rates.description) this.log(`lab ${this.id}: ${line}`);
  }

  runInClient(argv: string[], options: RunInOptions = {}): Promise<RunResult> {
    return this.runIn(this.namespaces.client, argv, options);
  }

  runInProbe(probe: string, argv: string[], options: RunInOptions = {}): Promise<RunResult> {
    const namespace = this.namespaces.probes[probe];
    if (!namespace) return Promise.reject(new Error(`lab ${this.id} has no probe named ${probe}`));
    return this.runIn(namespace, argv, options);
  }

  startProcess(where: { probe: string } | 'internet', argv: string[], logFile: string): LabProcess {
    if (this.closed) throw new Error(`lab ${this.id} is torn down`);
    const namespace = where === 'internet' ? this.namespaces.internet : this.namespaces.probes[where.probe];
    if (!namespace)
      throw new Error(`lab ${this.id} has no probe named ${(where as { probe: string }).probe}`);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn('ip', ['netns', 'exec', namespace, ...argv], {
        stdio: ['ignore', fd, fd],
        detached: true, // its own process group: stop() and teardown reach everything it started
      });
    } finally {
      closeSync(fd);
    }
    this.clients.add(child);
    const exited = new Promise<number | null>((resolveExit) => {
      child.on('error', (error) => {
        this.clients.delete(child);
        this.log(`lab ${this.id}: cannot start ${argv[0]}: ${error.message}`);
        resolveExit(null);
      });
      child.on('exit', (code) => {
        this.clients.delete(child);
        resolveExit(code);
      });
    });
    return {
      pid: child.pid,
      exited,
      stop: async (graceMs = 5000) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          return;
        }
        const timer = setTimeout(() => killGroup(child), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
  }

  async setProbeOnline(probe: string, online: boolean): Promise<void> {
    const index = this.probeNames.indexOf(probe);
    if (index < 0) throw new Error(`lab ${this.id} has no probe named ${probe}`);
    // The router's end goes down: the probe's own link loses its carrier but keeps its address
    // and routes, as a phone that loses its signal does.
    await run(['ip', '-n', this.namespaces.router, 'link', 'set', probePort(index), online ? 'up' : 'down']);
    this.log(`lab ${this.id}: probe ${probe} ${online ? 'back online' : 'offline'}`);
  }

  private runIn(namespace: string, argv: string[], options: RunInOptions): Promise<RunResult> {
    if (this.closed) return Promise.reject(new Error(`lab ${this.id} is torn down`));
    if (argv.length === 0) return Promise.reject(new Error('runInClient needs a command'));
    return new Promise((resolvePromise, reject) => {
      const child = spawn('ip', ['netns', 'exec', namespace, ...argv], {
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, so a timeout or teardown kills everything it started
      });
      this.clients.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        options.onStderr?.(chunk);
      });
      const timer =
        options.timeoutMs === undefined ? undefined : setTimeout(() => killGroup(child), options.timeoutMs);
      const onAbort = () => killGroup(child);
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('exit', () => options.signal?.removeEventListener('abort', onAbort));
      child.on('error', (error) => {
        clearTimeout(timer);
        this.clients.delete(child);
        reject(new Error(`cannot run ${argv[0]} in lab ${this.id}: ${error.message}`));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        this.clients.delete(child);
        resolvePromise({ code, stdout, stderr });
      });
    });
  }

  applyCensor(rules: CensorRule[]): Promise<void> {
    const next = this.censorQueue.then(() => this.apply(rules));
    this.censorQueue = next.catch(() => {});
    return next;
  }

  private async apply(rules: CensorRule[]): Promise<void> {
    if (this.closed) throw new Error(`lab ${this.id} is torn down`);
    const plan = planCensor(rules, this.context);
    const rtr = this.namespaces.router;
    if (this.throttled) {
      await run(['tc', '-n', rtr, '-force', '-batch', '-'], {
        input: 'qdisc del dev r0 root\nqdisc del dev r1 root\n',
      }).catch(() => {});
      this.throttled = false;
    }
    this.throttled = plan.tc.length > 0;
    if (plan.perSegment !== this.perSegment) {
      // Random loss must hit TCP segments, not 64 KB GSO super-packets: the two senders (probe and
      // internet) send one segment per packet while a loss rule is active.
      const segs = plan.perSegment ? 1 : 65535;
      await Promise.all([
        ...[this.namespaces.client, ...Object.values(this.namespaces.probes)].map((namespace) =>
          run(['ip', '-n', namespace, 'link', 'set', IFACE.client, 'gso_max_segs', String(segs)]),
        ),
        run([
          'ip',
          '-n',
          this.namespaces.internet,
          'link',
          'set',
          IFACE.internet,
          'gso_max_segs',
          String(segs),
        ]),
      ]);
      this.perSegment = plan.perSegment;
    }
    await Promise.all([
      run(['ip', 'netns', 'exec', rtr, 'nft', '-f', '-'], { input: plan.nft }),
      run(['ip', 'netns', 'exec', rtr, 'iptables-restore'], { input: plan.iptables }),
      plan.tc.length > 0
        ? run(['tc', '-n', rtr, '-batch', '-'], { input: `${plan.tc.join('\n')}\n` })
        : undefined,
      this.router?.request({ type: 'rules', id: ++this.requestId, rules: plan.router }, ACK_TIMEOUT_MS),
    ]);
    if (plan.description.length === 0) this.log(`lab ${this.id}: no censorship`);
    for (const line of plan.description) this.log(`lab ${this.id}: ${line}`);
  }

  teardown(): Promise<void> {
    this.teardownPromise ??= this.doTeardown();
    return this.teardownPromise;
  }

  private async doTeardown(): Promise<void> {
    const started = performance.now();
    this.closed = true;
    for (const child of this.clients) killGroup(child);
    await Promise.all([this.services?.stop(), this.router?.stop()]);
    const names = namespaceList(this.namespaces);
    // Anything else still inside (a command's grandchildren) goes too: a namespace without a name
    // would live on with them.
    for (const pids of await Promise.all(names.map((n) => namespacePids(n))))
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    await deleteNamespaces(names);
    removeNetnsEtc(names);
    releaseIndex(this.k);
    unregisterLab(this);
    this.log(`lab ${this.id}: torn down in ${Math.round(performance.now() - started)} ms`);
  }

  /** Best effort, synchronous: for process exit. */
  teardownSync(): void {
    if (this.syncDone) return;
    this.syncDone = true;
    this.closed = true;
    for (const child of this.clients) killGroup(child);
    this.services?.stopSync();
    this.router?.stopSync();
    const names = namespaceList(this.namespaces);
    for (const name of names)
      for (const pid of namespacePidsSync(name)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    deleteNamespacesSync(names);
    removeNetnsEtc(names);
    releaseIndex(this.k);
    unregisterLab(this);
  }
}

/**
 * Builds a lab: three namespaces (client, ISP router, internet), the default internet plus SITES, a
 * fresh CA, the lab's processes, and CENSOR's rules on the router. Everything is torn down again if
 * any step fails, and on SIGINT/SIGTERM/exit of this process.
 */
export async function createLab(options: LabOptions): Promise<LabHandle> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  await preflight();
  const sites = worldSites(options.sites, { standIns: options.standIns ?? true });
  const probes = options.probes ?? [];
  // Check the rules and site rates before building anything (any lab index gives the same verdict).
  checkCensorRules(sites, probes, options.censor);
  planSiteRates(sites, planAddresses(0, sites, probes));
  const stale = await cleanupStaleLabs();
  if (stale > 0) log(`removed ${stale} stale lab(s) left behind by processes that died`);
  const workDir = resolve(options.workDir);
  mkdirSync(workDir, { recursive: true });
  const { k } = await claimIndex(workDir);
  let lab: Lab;
  try {
    lab = new Lab(k, workDir, planAddresses(k, sites, probes), sites, log, probes);
  } catch (error) {
    releaseIndex(k);
    throw error;
  }
  registerLab(lab);
  try {
    await lab.build(options.censor);
  } catch (error) {
    await lab.teardown();
    throw error;
  }
  log(`lab ${lab.id}: ready in ${Math.round(performance.now() - started)} ms (work dir ${workDir})`);
  return lab;
}
