/**
 * Renders decoded MRT records as the one-line-per-prefix text of `bgpdump -m`, so our decoding can
 * be compared with golden files. Written from observation of that format, not from bgpdump's code.
 */
import type { AsPathSegment, PathAttributes, Prefix } from './bgp.js';
import type { MrtRecord } from './reader.js';

function prefixText(p: Prefix): string {
  return `${p.address}/${p.length}`;
}

export function asPathText(segs: AsPathSegment[] | undefined): string {
  if (!segs) return '';
  return segs
    .map((s) => {
      switch (s.type) {
        case 'sequence':
          return s.asns.join(' ');
        case 'set':
          return `{${s.asns.join(',')}}`;
        case 'confed_sequence':
          return `(${s.asns.join(' ')})`;
        case 'confed_set':
          return `[${s.asns.join(',')}]`;
      }
      return '';
    })
    .filter((t) => t !== '')
    .join(' ');
}

const WELL_KNOWN: Record<number, string> = {
  4294967041: 'no-export',
  4294967042: 'no-advertise',
  4294967043: 'no-export-subconfed',
};

export function communitiesText(list: number[] | undefined): string {
  if (!list) return '';
  return list.map((c) => WELL_KNOWN[c] ?? `${c >>> 16}:${c & 0xffff}`).join(' ');
}

/** The columns from AS path to aggregator, each followed by '|'. */
function attributeColumns(a: PathAttributes, nextHop: string): string {
  const agg = a.aggregator?.asn === 23456 && a.as4Aggregator ? a.as4Aggregator : a.aggregator;
  return [
    asPathText(a.asPath),
    // bgpdump shows a missing ORIGIN as INCOMPLETE and a missing next hop as 255.255.255.255.
    a.origin ?? 'INCOMPLETE',
    nextHop,
    a.localPref ?? 0,
    a.med ?? 0,
    communitiesText(a.communities),
    a.atomicAggregate ? 'AG' : 'NAG',
    agg ? `${agg.asn} ${agg.address}` : '',
    '',
  ].join('|');
}

function nextHopFor(a: PathAttributes, p: Prefix): string {
  if (p.afi === 2) return a.mpReach?.nextHops[0] ?? a.nextHop ?? '255.255.255.255';
  return a.nextHop ?? a.mpReach?.nextHops[0] ?? '255.255.255.255';
}

/**
 * "BGP4MP|<seconds>", "BGP4MP_ET|<seconds>.<microseconds>" for the extended-timestamp type, or
 * "BGP4MP_AP|<seconds>" for add-path messages (which add a path-id column after the prefix).
 */
function bgp4mpHead(r: MrtRecord, addPath = false): string {
  const h = r.header;
  if (h.type === 17) return `BGP4MP_ET|${h.timestamp}.${String(h.microseconds).padStart(6, '0')}`;
  return `${addPath ? 'BGP4MP_AP' : 'BGP4MP'}|${h.timestamp}`;
}

/** bgpdump -m lines for one record (none for records it does not print, such as keepalives). */
export function bgpdumpLines(r: MrtRecord): string[] {
  const ts = r.header.timestamp;
  switch (r.kind) {
    case 'table_dump': {
      const a = r.attributes;
      return [
        `TABLE_DUMP|${ts}|B|${r.peerAddress}|${r.peerAs}|${prefixText(r.prefix)}|${attributeColumns(a, nextHopFor(a, r.prefix))}`,
      ];
    }
    case 'rib': {
      const tag = r.addPath ? 'TABLE_DUMP2_AP' : 'TABLE_DUMP2';
      return r.entries.map((e) => {
        const a = e.attributes;
        const pid = r.addPath ? `|${e.pathId}` : '';
        const peer = e.peer;
        return `${tag}|${ts}|B|${peer?.address ?? ''}|${peer?.asn ?? ''}|${prefixText(r.prefix)}${pid}|${attributeColumns(a, nextHopFor(a, r.prefix))}`;
      });
    }
    case 'bgp4mp_state':
      return [`${bgp4mpHead(r)}|STATE|${r.peerAddress}|${r.peerAs}|${r.oldState}|${r.newState}`];
    case 'bgp4mp_message': {
      const m = r.message;
      if (m.type !== 'update') return [];
      const head = bgp4mpHead(r, r.addPath || m.addPathGuessed === true);
      const peer = `${r.peerAddress}|${r.peerAs}`;
      const a = m.attributes;
      const pid = (p: Prefix) => (p.pathId !== undefined ? `|${p.pathId}` : '');
      const out: string[] = [];
      const withdrawn = [...m.withdrawn, ...(a.mpUnreach?.withdrawn ?? [])];
      for (const p of withdrawn) out.push(`${head}|W|${peer}|${prefixText(p)}${pid(p)}`);
      const announced = [...m.nlri, ...(a.mpReach?.nlri ?? [])];
      for (const p of announced) {
        out.push(`${head}|A|${peer}|${prefixText(p)}${pid(p)}|${attributeColumns(a, nextHopFor(a, p))}`);
      }
      return out;
    }
    default:
      return [];
  }
}
