/**
 * facebook_messenger (OONI ts-019, as OONI 0.2.1 decides): resolve each Messenger service and
 * connect to it on 443 (stun: lookup only). A service's DNS is consistent when it resolves and
 * every answer belongs to Facebook's network (AS32934, from --asn-table or the catalog's
 * prefixes); its reachability counts only when its DNS is consistent. `facebook_dns_blocking` is
 * any inconsistency, `facebook_tcp_blocking` any failed connect.
 */
import { type ControlResponse, type FacebookMessengerTestKeys, isBogon } from '@pharos/core';
import { type OwnKeys, runFrame } from './common.js';
import {
  concurrency,
  type EndpointRecord,
  fail,
  inPool,
  mayStart,
  measureConnect,
  newRecord,
  type RunContext,
  resolve,
} from './engine.js';
import type { AppExperiment } from './types.js';

export const MESSENGER_VERSION = '0.2.1';

type Keys = OwnKeys<FacebookMessengerTestKeys>;

export interface ServiceOutcome {
  key: string;
  record: EndpointRecord;
  /** null: not measured. */
  dnsConsistent: boolean | null;
  /** null: not measured, DNS-only, or DNS inconsistent. */
  reachable: boolean | null;
}

/** OONI's keys from the per-service outcomes. */
export function messengerKeys(services: ServiceOutcome[]): Keys {
  const keys: Record<string, boolean | null> = {};
  for (const s of services) {
    keys[`facebook_${s.key}_dns_consistent`] = s.dnsConsistent;
    keys[`facebook_${s.key}_reachable`] = s.reachable;
  }
  const measured = services.filter((s) => s.dnsConsistent !== null);
  return {
    ...keys,
    facebook_dns_blocking: measured.length === 0 ? null : measured.some((s) => s.dnsConsistent === false),
    facebook_tcp_blocking: measured.length === 0 ? null : measured.some((s) => s.reachable === false),
  } as Keys;
}

/** The failure string of answers outside the expected network (not one of OONI's: OONI has none). */
export function outsideFailure(asn: number): string {
  return `unknown_failure: answer outside AS${asn}`;
}

/**
 * The control for an answer outside the network: it is a lie when the helper's answers for the
 * name are all inside it; the mechanism is a bogon when we were sent far from any real address.
 * When the helper resolves the name outside the network too, our ownership data is stale (or the
 * name moved): OONI's key still says inconsistent, but the failure no longer counts for Pharos's
 * verdict, and the endpoint's own verdict is null.
 */
export function asnJudge(
  ctx: RunContext,
  record: EndpointRecord,
  asn: number,
): (control: ControlResponse) => 'reachable' | 'unreachable' | null {
  return (control) => {
    const theirs = control.dns.addrs ?? [];
    if (control.dns.failure !== null || theirs.length === 0) return 'unreachable';
    if (!theirs.every((ip) => ctx.asn().lookup(ip) === asn)) {
      record.counted = false;
      return null;
    }
    const prefix = (ip: string) => ip.split('.').slice(0, 2).join('.');
    const far = record.addresses.some((ip) => isBogon(ip) && !theirs.some((t) => prefix(t) === prefix(ip)));
    record.mechanism = far ? 'dns.injection.bogon' : 'dns.injection.other';
    return 'reachable';
  };
}

async function measureService(
  ctx: RunContext,
  service: { key: string; host: string; tcp: boolean },
  port: number,
  asn: number,
): Promise<ServiceOutcome> {
  const record = newRecord(
    service.host,
    service.tcp ? 'tcp' : 'dns',
    `https://${service.host}/`,
    service.host,
  );
  const outcome: ServiceOutcome = { key: service.key, record, dnsConsistent: null, reachable: null };
  if (!mayStart(ctx)) {
    record.status = 'skipped';
    return outcome;
  }
  const found = await resolve(ctx, record, service.host, false);
  if (found.failure !== null) {
    fail(record, 'resolve', found.failure);
    outcome.dnsConsistent = false;
    return outcome;
  }
  if (found.addresses.some((ip) => ctx.asn().lookup(ip) !== asn)) {
    fail(record, 'resolve', outsideFailure(asn));
    record.judge = asnJudge(ctx, record, asn);
    outcome.dnsConsistent = false;
    return outcome;
  }
  outcome.dnsConsistent = true;
  if (!service.tcp) return outcome;
  const connected = await measureConnect(ctx, {
    name: service.host,
    host: service.host,
    ports: [port],
    addresses: found.addresses,
  });
  connected.addresses = found.addresses;
  outcome.record = connected;
  outcome.reachable = connected.status === 'ok';
  return outcome;
}

export const facebookMessenger: AppExperiment<FacebookMessengerTestKeys> = {
  name: 'facebook_messenger',
  description:
    "Facebook Messenger (OONI ts-019): DNS and TCP 443 to Messenger's services; DNS is consistent when every answer is in AS32934",
  run: (options) =>
    runFrame<FacebookMessengerTestKeys>(
      {
        testName: 'facebook_messenger',
        testVersion: MESSENGER_VERSION,
        input: null,
        empty: () => messengerKeys([]),
        steps: async (ctx) => {
          const app = ctx.catalog.apps.facebook_messenger;
          const services = await inPool(app.services, concurrency(ctx), (service) =>
            measureService(ctx, service, app.port, app.asn),
          );
          return { records: services.map((s) => s.record), keys: messengerKeys(services) };
        },
      },
      options,
    ),
};
