/**
 * The censor's rules, translated into what the router namespace runs: one nftables table
 * (`inet pharos`: DNAT to the router's interceptors, address rules, throttle classification), an
 * iptables-restore file (string matches on the SNI and Host bytes, in a PHAROS chain), tc commands
 * (htb classes for throttles) and the rules the router process applies itself (DNS lies, blockpages).
 * Pure: nothing here touches the system, so it can be tested without root.
 */
import type { CensorAction, CensorRule } from '../spec.js';
import { type AddressPlan, IFACE, isIPv4, serviceNames } from './addressing.js';
import type { Interception, RouterRules } from './config.js';
import { BOGON_ADDRESS, LOCALHOST_ADDRESS, normalizeName } from './names.js';

export interface CensorContext {
  plan: AddressPlan;
  /** DNS interceptors on the router (for `via: path`): one port per original destination, null = any other. */
  dnsInterceptions: Interception[];
  /** HTTP interceptors on the router (for blockpages): one port per address that serves port 80. */
  httpInterceptions: Interception[];
}

/** The addresses of the probes a scoped rule applies to (null: everyone behind the router). */
export function ruleSources(rule: CensorRule, plan: AddressPlan): string[] | null {
  if (!rule.probes) return null;
  return rule.probes.map((name) => {
    const address = plan.probes[name];
    if (!address) throw new Error(`the lab has no probe named ${name}`);
    return address;
  });
}

export interface CensorPlan {
  /** `nft -f -` input: replaces the table inet pharos atomically. */
  nft: string;
  /** `iptables-restore` input: replaces the router namespace's filter and mangle tables. */
  iptables: string;
  /** `tc -batch -` lines installing the throttle classes (empty: no throttling). */
  tc: string[];
  router: RouterRules;
  /**
   * A `loss` rule is active: the hosts must send one TCP segment per packet (GSO/TSO off), or the
   * router would see 64 KB super-packets and one random drop would lose dozens of segments.
   */
  perSegment: boolean;
  /** One line per rule: what it became. */
  description: string[];
}

const RATE = /^\d+(\.\d+)?([kmgt]i?)?(bit|bps)$/i;
const R0 = IFACE.routerClient;
const R1 = IFACE.routerInternet;
const QUANTUM = 1514;
const NO_LIMIT = '10gbit';

function nftSet(addresses: string[]): string {
  return addresses.length === 1 ? addresses[0]! : `{ ${addresses.join(', ')} }`;
}

function hexString(bytes: Buffer): string {
  return `|${bytes.toString('hex')}|`;
}

/** The bytes of a server_name entry in a ClientHello: type 0, 2-byte length, name (so `a.b` never matches `x.a.b`). */
export function sniBytes(name: string): Buffer {
  const ascii = Buffer.from(name, 'latin1');
  return Buffer.concat([Buffer.from([0, ascii.length >> 8, ascii.length & 255]), ascii]);
}

/** The bytes of a request's Host header line. */
export function hostBytes(name: string): Buffer {
  return Buffer.from(`Host: ${name}\r\n`, 'latin1');
}

export function describeRule(rule: CensorRule): string {
  const m = rule.match;
  const match =
    m.kind === 'all'
      ? 'all'
      : m.kind === 'dst'
        ? `dst ${m.target}${m.port ? `:${m.port}` : ''}`
        : `${m.kind} ${m.name}`;
  const a = rule.action;
  const action =
    a.kind === 'spoof'
      ? `spoof ${a.address}`
      : a.kind === 'throttle'
        ? `throttle ${a.rate}`
        : a.kind === 'loss'
          ? `loss ${a.percent}%`
          : a.kind === 'blockpage'
            ? 'blockpage'
            : a.kind;
  const scope = rule.probes ? ` [for ${rule.probes.join(', ')}]` : '';
  return `${match} → ${action}${m.kind === 'dns_name' ? ` (via ${rule.via})` : ''}${scope}`;
}

/** The addresses a `dst` target stands for: an IPv4 literal, or every address of a lab name. */
export function dstAddresses(plan: AddressPlan, target: string): string[] {
  if (isIPv4(target)) return [target];
  const name = normalizeName(target);
  const site = plan.sites[name];
  if (site) return site.all;
  const service = serviceNames(plan)[name];
  if (service) return [service];
  throw new Error(`dst ${target} is neither an IPv4 address nor a site of this lab`);
}

/** The address a spoof answer carries: an IPv4 literal or bogon, localhost, proxy. */
export function spoofAddress(plan: AddressPlan, address: string): string {
  if (address === 'bogon') return BOGON_ADDRESS;
  if (address === 'localhost') return LOCALHOST_ADDRESS;
  if (address === 'proxy') return plan.proxy;
  if (isIPv4(address)) return address;
  throw new Error(`spoof address ${address} is not an IPv4 address nor one of bogon, localhost, proxy`);
}

function unsupported(action: CensorAction, match: string): Error {
  return new Error(`action ${action.kind} does not apply to a ${match} match`);
}

export function planCensor(rules: CensorRule[], context: CensorContext): CensorPlan {
  const { plan } = context;
  const chains = { prerouting: [] as string[], input: [] as string[], forward: [] as string[] };
  const output: string[] = [];
  const postrouting: string[] = [];
  const filter: string[] = [];
  const mangle: string[] = [];
  const classes: { minor: string; rate: string }[] = [];
  const router: RouterRules = { dns: [], blockpages: [] };
  const description: string[] = [];
  let cap: string | undefined;
  let needDnsInterception = false;
  let needHttpInterception = false;
  let perSegment = false;

  const newClass = (rate: string): { minor: string; mark: string } => {
    const n = 0x10 + classes.length;
    const minor = n.toString(16);
    classes.push({ minor, rate });
    return { minor, mark: `0x${minor}` };
  };
  const checkRate = (rate: string) => {
    if (!RATE.test(rate)) throw new Error(`throttle rate ${rate} is not a tc rate such as 128kbit or 2mbit`);
  };
  /** nft `numgen random mod 10000 < N`: PERCENT in hundredths of a percent. */
  const lossTest = (percent: number): string => {
    if (!Number.isFinite(percent) || percent <= 0 || percent > 100)
      throw new Error(`loss ${percent} is not a percentage in (0, 100]`);
    perSegment = true;
    return `numgen random mod 10000 < ${Math.round(percent * 100)}`;
  };

  rules.forEach((rule, index) => {
    const where = `censor rule ${index + 1} (${describeRule(rule)})`;
    try {
      const { match, action } = rule;
      // A scoped rule (issue 5) matches only its probes' traffic: their addresses as the source
      // going out, as the destination coming back.
      const sources = ruleSources(rule, plan);
      const from = sources ? `ip saddr ${nftSet(sources)} ` : '';
      const to = sources ? `ip daddr ${nftSet(sources)} ` : '';
      const iptablesFrom = sources ? `-s ${sources.join(',')} ` : '';
      switch (match.kind) {
        case 'dns_name': {
          const name = normalizeName(match.name);
          let routerAction: RouterRules['dns'][number]['action'];
          if (action.kind === 'spoof')
            routerAction = { kind: 'spoof', address: spoofAddress(plan, action.address) };
          else if (
            action.kind === 'nxdomain' ||
            action.kind === 'refused' ||
            action.kind === 'servfail' ||
            action.kind === 'drop'
          )
            routerAction = { kind: action.kind };
          else throw unsupported(action, 'dns_name');
          router.dns.push({
            name,
            via: rule.via,
            action: routerAction,
            ...(sources ? { clients: sources } : {}),
          });
          if (rule.via === 'path') needDnsInterception = true;
          const answer = routerAction.kind === 'spoof' ? `A ${routerAction.address}` : routerAction.kind;
          description.push(
            rule.via === 'path'
              ? `${where}: every DNS query crossing the router (DNAT udp/tcp 53 → router) answered ${answer}`
              : `${where}: the ISP resolver answers ${answer}`,
          );
          break;
        }
        case 'sni':
        case 'host': {
          const name = normalizeName(match.name);
          const pattern = hexString(match.kind === 'sni' ? sniBytes(name) : hostBytes(name));
          const string = `${iptablesFrom}-p tcp -m string --algo bm --icase --hex-string "${pattern}"`;
          const what = match.kind === 'sni' ? `SNI bytes ${pattern}` : `"Host: ${name}\\r\\n"`;
          if (action.kind === 'drop') {
            filter.push(`-A PHAROS ${string} -j DROP`);
            description.push(`${where}: iptables FORWARD string match ${what} -j DROP`);
          } else if (action.kind === 'reset') {
            filter.push(`-A PHAROS ${string} -j REJECT --reject-with tcp-reset`);
            description.push(
              `${where}: iptables FORWARD string match ${what} -j REJECT --reject-with tcp-reset`,
            );
          } else if (action.kind === 'throttle') {
            checkRate(action.rate);
            const { minor, mark } = newClass(action.rate);
            mangle.push(`-A PHAROS_MARK ${string} -j CONNMARK --set-mark ${mark}`);
            postrouting.push(`oifname { "${R0}", "${R1}" } ct mark ${mark} meta priority set 1:${minor}`);
            description.push(
              `${where}: iptables mangle string match ${what} -j CONNMARK ${mark}; nft ct mark ${mark} → htb class 1:${minor} (${action.rate}) on both router interfaces`,
            );
          } else if (action.kind === 'blockpage' && match.kind === 'host') {
            if (sources) throw new Error('a blockpage cannot be scoped to some probes');
            router.blockpages.push({ host: name, html: action.html });
            needHttpInterception = true;
            description.push(
              `${where}: port-80 traffic to every HTTP address DNAT-ed to the router's middlebox, which answers Host ${name} with the blockpage`,
            );
          } else throw unsupported(action, match.kind);
          break;
        }
        case 'dst': {
          const set = nftSet(dstAddresses(plan, match.target));
          const port = match.port;
          if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
            throw new Error(`port ${port} is not a port number`);
          // Forwarded packets match on their destination; packets DNAT-ed to a router interceptor
          // (input chain) on their original destination.
          const forward = `${from}ip daddr ${set}`;
          const input = `iifname "${R0}" ${from}ct status dnat ct original ip daddr ${set}`;
          const add = (forwardTail: string, inputTail: string) => {
            chains.forward.push(`${forward} ${forwardTail}`);
            chains.input.push(`${input} ${inputTail}`);
          };
          if (action.kind === 'drop') {
            if (port === undefined) add('drop', 'drop');
            else
              for (const proto of ['tcp', 'udp'])
                add(
                  `${proto} dport ${port} drop`,
                  `meta l4proto ${proto} ct original proto-dst ${port} drop`,
                );
            description.push(`${where}: nft forward ${forward}${port ? ` tcp/udp dport ${port}` : ''} drop`);
          } else if (action.kind === 'reset') {
            if (port === undefined) {
              add('meta l4proto tcp reject with tcp reset', 'meta l4proto tcp reject with tcp reset');
              add('reject', 'reject');
            } else {
              add(
                `tcp dport ${port} reject with tcp reset`,
                `meta l4proto tcp ct original proto-dst ${port} reject with tcp reset`,
              );
              add(`udp dport ${port} reject`, `meta l4proto udp ct original proto-dst ${port} reject`);
            }
            description.push(
              `${where}: nft forward ${forward}${port ? ` dport ${port}` : ''} reject with tcp reset (ICMP port-unreachable for UDP)`,
            );
          } else if (action.kind === 'throttle') {
            checkRate(action.rate);
            const { minor } = newClass(action.rate);
            const sport = port === undefined ? '' : ` meta l4proto { tcp, udp } th sport ${port}`;
            const dport = port === undefined ? '' : ` meta l4proto { tcp, udp } th dport ${port}`;
            postrouting.push(`oifname "${R0}" ${to}ip saddr ${set}${sport} meta priority set 1:${minor}`);
            postrouting.push(`oifname "${R1}" ${from}ip daddr ${set}${dport} meta priority set 1:${minor}`);
            description.push(`${where}: nft postrouting by address → htb class 1:${minor} (${action.rate})`);
          } else if (action.kind === 'loss') {
            if (port !== undefined) throw new Error('loss on a dst applies to every port: leave port out');
            const test = lossTest(action.percent);
            chains.forward.push(`${from}ip daddr ${set} ${test} drop`, `${to}ip saddr ${set} ${test} drop`);
            description.push(
              `${where}: nft forward ${test} drop, both directions (TCP segmentation offload off on the hosts)`,
            );
          } else throw unsupported(action, 'dst');
          break;
        }
        case 'all': {
          if (sources) {
            planScopedAll(action, sources, where);
            break;
          }
          if (action.kind === 'drop') {
            chains.forward.push('drop');
            chains.input.push(`iifname { "${R0}", "${R1}" } drop`);
            output.push(`oifname { "${R0}", "${R1}" } drop`);
            description.push(
              `${where}: nft drop in forward, and in input/output on both router interfaces (the ISP resolver goes dark too)`,
            );
          } else if (action.kind === 'reset') {
            chains.forward.push('meta l4proto tcp reject with tcp reset', 'reject');
            chains.input.push(
              `iifname "${R0}" meta l4proto tcp reject with tcp reset`,
              `iifname "${R0}" reject`,
            );
            description.push(`${where}: nft reject with tcp reset (ICMP for the rest) in forward and input`);
          } else if (action.kind === 'throttle') {
            checkRate(action.rate);
            cap ??= action.rate;
            description.push(`${where}: htb on both router interfaces capped at ${action.rate}`);
          } else if (action.kind === 'loss') {
            const test = lossTest(action.percent);
            chains.forward.push(`${test} drop`);
            description.push(
              `${where}: nft forward ${test} drop (TCP segmentation offload off on the hosts)`,
            );
          } else throw unsupported(action, 'all');
          break;
        }
      }
    } catch (error) {
      throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });

  /** `all` for some probes only: their traffic both ways; the router stays up for everyone else. */
  function planScopedAll(action: CensorAction, sources: string[], where: string): void {
    const set = nftSet(sources);
    const out = `ip saddr ${set}`;
    const back = `ip daddr ${set}`;
    if (action.kind === 'drop') {
      chains.forward.push(`${out} drop`, `${back} drop`);
      chains.input.push(`iifname "${R0}" ${out} drop`);
      output.push(`oifname "${R0}" ${back} drop`);
      description.push(
        `${where}: nft drop of ${set} in forward (both ways), and to/from the router (their ISP resolver goes dark)`,
      );
    } else if (action.kind === 'reset') {
      chains.forward.push(`${out} meta l4proto tcp reject with tcp reset`, `${out} reject`);
      chains.input.push(
        `iifname "${R0}" ${out} meta l4proto tcp reject with tcp reset`,
        `iifname "${R0}" ${out} reject`,
      );
      description.push(`${where}: nft reject from ${set} with tcp reset (ICMP for the rest)`);
    } else if (action.kind === 'throttle') {
      checkRate(action.rate);
      const { minor } = newClass(action.rate);
      postrouting.push(`oifname "${R0}" ${back} meta priority set 1:${minor}`);
      postrouting.push(`oifname "${R1}" ${out} meta priority set 1:${minor}`);
      description.push(`${where}: nft postrouting ${set} → htb class 1:${minor} (${action.rate})`);
    } else if (action.kind === 'loss') {
      const test = lossTest(action.percent);
      chains.forward.push(`${out} ${test} drop`, `${back} ${test} drop`);
      description.push(`${where}: nft forward ${set} ${test} drop, both directions`);
    } else throw unsupported(action, 'all');
  }

  const router0 = plan.router;
  if (needDnsInterception) {
    const anyOther = context.dnsInterceptions.find((i) => i.original === null);
    for (const interception of context.dnsInterceptions) {
      if (!interception.original) continue;
      for (const proto of ['tcp', 'udp'])
        chains.prerouting.push(
          `iifname "${R0}" ip daddr ${interception.original} ${proto} dport 53 dnat ip to ${router0}:${interception.port}`,
        );
    }
    if (anyOther)
      for (const proto of ['tcp', 'udp'])
        chains.prerouting.push(
          `iifname "${R0}" ip daddr != ${router0} ${proto} dport 53 dnat ip to ${router0}:${anyOther.port}`,
        );
  }
  if (needHttpInterception) {
    for (const interception of context.httpInterceptions) {
      if (!interception.original) continue;
      chains.prerouting.push(
        `iifname "${R0}" ip daddr ${interception.original} tcp dport 80 dnat ip to ${router0}:${interception.port}`,
      );
    }
  }

  const chain = (name: string, hook: string, priority: string, type: string, lines: string[]) =>
    `  chain ${name} {\n    type ${type} hook ${hook} priority ${priority}; policy accept;\n${lines
      .map((l) => `    ${l}\n`)
      .join('')}  }\n`;
  const nft =
    'table inet pharos\ndelete table inet pharos\ntable inet pharos {\n' +
    chain('prerouting', 'prerouting', 'dstnat', 'nat', chains.prerouting) +
    chain('input', 'input', 'filter', 'filter', chains.input) +
    chain('forward', 'forward', 'filter', 'filter', chains.forward) +
    chain('output', 'output', 'filter', 'filter', output) +
    chain('postrouting', 'postrouting', 'filter', 'filter', postrouting) +
    '}\n';

  const iptables = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':PHAROS - [0:0]',
    `-A INPUT -i ${R0} -j PHAROS`,
    '-A FORWARD -j PHAROS',
    ...filter,
    'COMMIT',
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':PHAROS_MARK - [0:0]',
    `-A INPUT -i ${R0} -j PHAROS_MARK`,
    '-A FORWARD -j PHAROS_MARK',
    ...mangle,
    'COMMIT',
    '',
  ].join('\n');

  const tc: string[] = [];
  if (classes.length > 0 || cap) {
    const top = cap ?? NO_LIMIT;
    for (const dev of [R0, R1]) {
      tc.push(`qdisc add dev ${dev} root handle 1: htb default 99`);
      tc.push(`class add dev ${dev} parent 1: classid 1:1 htb rate ${top} ceil ${top} quantum ${QUANTUM}`);
      tc.push(`class add dev ${dev} parent 1:1 classid 1:99 htb rate ${top} ceil ${top} quantum ${QUANTUM}`);
      for (const c of classes)
        tc.push(
          `class add dev ${dev} parent 1:1 classid 1:${c.minor} htb rate ${c.rate} ceil ${c.rate} quantum ${QUANTUM}`,
        );
    }
  }
  return { nft, iptables, tc, router, perSegment, description };
}
