/**
 * whatsapp (OONI ts-018, as OONI 0.11.0 decides): TCP connects to the e1…e16 endpoints on 443 and
 * 5222, an HTTPS GET of the registration server and of WhatsApp Web. An endpoint host is blocked
 * when every port failed; `whatsapp_endpoints_status` is blocked only when no host connected;
 * registration and web are blocked when their fetch fails.
 */
import type { WhatsAppTestKeys } from '@pharos/core';
import type { Catalog } from '../catalog/index.js';
import { type OwnKeys, runFrame } from './common.js';
import { concurrency, type EndpointRecord, inPool, measureConnect, measureFetch } from './engine.js';
import type { AppExperiment } from './types.js';

export const WHATSAPP_VERSION = '0.11.0';

type Keys = OwnKeys<WhatsAppTestKeys>;

function status(record: EndpointRecord | undefined): 'ok' | 'blocked' | null {
  if (!record || record.status === 'skipped') return null;
  return record.status === 'ok' ? 'ok' : 'blocked';
}

/** OONI's keys from the endpoint records (hosts, registration, web); marks what counts for the verdict. */
export function whatsappKeys(
  hosts: EndpointRecord[],
  registration: EndpointRecord | undefined,
  web: EndpointRecord | undefined,
): Keys {
  const measured = hosts.filter((r) => r.status !== 'skipped');
  const endpointsStatus =
    measured.length === 0 ? null : measured.some((r) => r.status === 'ok') ? 'ok' : 'blocked';
  // Single hosts failing while others connect do not make WhatsApp blocked (OONI's rule).
  for (const r of hosts) r.counted = endpointsStatus === 'blocked';
  return {
    registration_server_failure: registration?.failure ?? null,
    registration_server_status: status(registration),
    whatsapp_endpoints_blocked: hosts.filter((r) => r.status === 'failed').map((r) => r.name),
    whatsapp_endpoints_dns_inconsistent: [],
    whatsapp_endpoints_status: endpointsStatus,
    whatsapp_web_failure: web?.failure ?? null,
    whatsapp_web_status: status(web),
  };
}

function emptyKeys(): Keys {
  return whatsappKeys([], undefined, undefined);
}

function maxBody(catalog: Catalog): number {
  return catalog.defaults.max_body_bytes;
}

export const whatsapp: AppExperiment<WhatsAppTestKeys> = {
  name: 'whatsapp',
  description:
    'WhatsApp (OONI ts-018): TCP to e1…e16.whatsapp.net on 443 and 5222, the registration server and web.whatsapp.com over HTTPS',
  run: (options) =>
    runFrame<WhatsAppTestKeys>(
      {
        testName: 'whatsapp',
        testVersion: WHATSAPP_VERSION,
        input: null,
        empty: emptyKeys,
        steps: async (ctx) => {
          const app = ctx.catalog.apps.whatsapp;
          type Job = () => Promise<EndpointRecord>;
          const jobs: Job[] = [
            () =>
              measureFetch(ctx, {
                name: new URL(app.registration).hostname,
                url: app.registration,
                maxBodyBytes: maxBody(ctx.catalog),
              }),
            () =>
              measureFetch(ctx, {
                name: new URL(app.web).hostname,
                url: app.web,
                maxBodyBytes: maxBody(ctx.catalog),
              }),
            ...app.endpoints.hosts.map(
              (host): Job =>
                () =>
                  measureConnect(ctx, { name: host, host, ports: app.endpoints.ports }),
            ),
          ];
          const records = await inPool(jobs, concurrency(ctx), (job) => job());
          const [registration, web, ...hosts] = records;
          const keys = whatsappKeys(hosts, registration, web);
          const throttleURL = app.throttle;
          const throttle = throttleURL ? records.find((r) => r.url === new URL(throttleURL).href) : undefined;
          return { records: [...hosts, registration!, web!], keys, throttle };
        },
      },
      options,
    ),
};
