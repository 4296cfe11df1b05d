import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AddressPlan, IFACE, internetAddresses } from './addressing.js';
import { run, runSync } from './commands.js';
import { BOGON_ADDRESS } from './names.js';

export interface LabNamespaces {
  client: string;
  router: string;
  internet: string;
  /** With several probes: each probe's own namespace (phx<k>-p<i>), by probe name. */
  probes: Record<string, string>;
}

/** phx<k>-cli, phx<k>-rtr, phx<k>-net and phx<k>-p<i>: the only namespaces the lab creates. */
export const NAMESPACE_PATTERN = /^phx(\d+)-(cli|rtr|net|p\d+)$/;
export const NETNS_ETC = '/etc/netns';

export function namespaceNames(k: number, probes: string[] = []): LabNamespaces {
  return {
    client: `phx${k}-cli`,
    router: `phx${k}-rtr`,
    internet: `phx${k}-net`,
    probes: Object.fromEntries(probes.map((name, i) => [name, `phx${k}-p${i}`])),
  };
}

export function namespaceList(ns: LabNamespaces): string[] {
  return [ns.client, ns.router, ns.internet, ...Object.values(ns.probes)];
}

/** Of NAMES, those that belong to lab k (its three namespaces and its probes'). */
export function namespacesOfLab(k: number, names: string[]): string[] {
  return names.filter((n) => Number(NAMESPACE_PATTERN.exec(n)?.[1] ?? -1) === k);
}

/** The router's side of probe i's link. */
export function probePort(i: number): string {
  return `${IFACE.routerProbePort}${i}`;
}

/** The names of every network namespace on the machine (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run(['ip', 'netns', 'list']);
  return parseNetnsList(stdout);
}

export function listNamespacesSync(): string[] {
  return parseNetnsList(runSync(['ip', 'netns', 'list']).stdout);
}

function parseNetnsList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/**
 * Builds the three namespaces and the two veth pairs (created directly inside the namespaces, so the
 * root namespace never sees them), the addresses, routes and forwarding.
 */
export async function createNetwork(ns: LabNamespaces, plan: AddressPlan): Promise<void> {
  await run(['ip', '-batch', '-'], {
    input: namespaceList(ns)
      .map((n) => `netns add ${n}\n`)
      .join(''),
  });
  const probes = Object.entries(ns.probes);
  // Several probes: the router's client side is a bridge named like the single link's end (r0), so
  // every rule written for r0 covers all of them; each probe's link is a port of it.
  const bridged = probes.length > 0;
  if (bridged)
    await batch(ns.router, [`link add ${IFACE.routerClient} type bridge forward_delay 0 stp_state 0`]);
  const clientPeer = bridged ? IFACE.routerClientPort : IFACE.routerClient;
  const client = [
    'link set lo up',
    `link add ${IFACE.client} type veth peer name ${clientPeer} netns ${ns.router}`,
    `addr add ${plan.probe}/${plan.clientPrefix} dev ${IFACE.client}`,
    `link set ${IFACE.client} up`,
    `route add default via ${plan.router}`,
  ];
  const probeLinks = probes.map(([name, namespace], i) =>
    batch(namespace, [
      'link set lo up',
      `link add ${IFACE.client} type veth peer name ${probePort(i)} netns ${ns.router}`,
      `addr add ${plan.probes[name]}/${plan.clientPrefix} dev ${IFACE.client}`,
      `link set ${IFACE.client} up`,
      `route add default via ${plan.router}`,
    ]),
  );
  const internet = [
    'link set lo up',
    `link add ${IFACE.internet} type veth peer name ${IFACE.routerInternet} netns ${ns.router}`,
    ...internetAddresses(plan).map((a) => `addr add ${a}/${plan.internetPrefix} dev ${IFACE.internet}`),
    `link set ${IFACE.internet} up`,
    `route add default via ${plan.routerInternet}`,
  ];
  await Promise.all([batch(ns.client, client), batch(ns.internet, internet), ...probeLinks]);
  const ports = bridged
    ? [IFACE.routerClientPort, ...probes.map((_, i) => probePort(i))].flatMap((port) => [
        `link set ${port} master ${IFACE.routerClient}`,
        `link set ${port} up`,
      ])
    : [];
  await batch(ns.router, [
    'link set lo up',
    ...ports,
    `addr add ${plan.router}/${plan.clientPrefix} dev ${IFACE.routerClient}`,
    `addr add ${plan.routerInternet}/${plan.internetPrefix} dev ${IFACE.routerInternet}`,
    `link set ${IFACE.routerClient} up`,
    `link set ${IFACE.routerInternet} up`,
    // The bogon a spoofing censor hands out leads nowhere.
    `route add unreachable ${BOGON_ADDRESS}/32`,
  ]);
  await run(['ip', 'netns', 'exec', ns.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
}

function batch(namespace: string, lines: string[]) {
  return run(['ip', '-n', namespace, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

const NSSWITCH = [
  'passwd: files',
  'group: files',
  'shadow: files',
  'hosts: files dns',
  'networks: files',
  'protocols: files',
  'services: files',
  'ethers: files',
  'rpc: files',
  '',
].join('\n');

/**
 * Per-namespace /etc files: `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc/*, so
 * getaddrinfo inside the client namespace really asks the ISP resolver.
 */
export function writeNetnsEtc(ns: LabNamespaces, plan: AddressPlan): void {
  const resolvers: Record<string, string> = {
    [ns.client]: plan.ispResolver,
    [ns.router]: plan.authoritative,
    [ns.internet]: plan.publicResolver,
    ...Object.fromEntries(Object.values(ns.probes).map((n) => [n, plan.ispResolver])),
  };
  for (const [name, resolver] of Object.entries(resolvers)) {
    const dir = join(NETNS_ETC, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${resolver}\noptions timeout:2 attempts:2\n`);
    writeFileSync(join(dir, 'hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
    writeFileSync(join(dir, 'nsswitch.conf'), NSSWITCH);
  }
}

export function removeNetnsEtc(names: string[]): void {
  for (const name of names) {
    if (!NAMESPACE_PATTERN.test(name)) continue;
    rmSync(join(NETNS_ETC, name), { recursive: true, force: true });
  }
}

/** Deletes namespaces (and with them the veths and every rule inside); ignores those already gone. */
export async function deleteNamespaces(names: string[]): Promise<void> {
  const mine = names.filter((n) => NAMESPACE_PATTERN.test(n));
  if (mine.length === 0) return;
  await run(['ip', '-force', '-batch', '-'], { input: mine.map((n) => `netns del ${n}\n`).join('') }).catch(
    () => {},
  );
}

export function deleteNamespacesSync(names: string[]): void {
  const mine = names.filter((n) => NAMESPACE_PATTERN.test(n));
  if (mine.length > 0) runSync(['ip', '-force', '-batch', '-'], mine.map((n) => `netns del ${n}\n`).join(''));
}

/** The pids of processes still living in a namespace (`ip netns pids`). */
export function namespacePidsSync(name: string): number[] {
  return runSync(['ip', 'netns', 'pids', name])
    .stdout.split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

export async function namespacePids(name: string): Promise<number[]> {
  const { stdout } = await run(['ip', 'netns', 'pids', name]).catch(() => ({ stdout: '' }));
  return stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}
