/**
 * telegram (OONI ts-020, as OONI 0.3.1 decides): a plain-HTTP POST to each data centre's address
 * on ports 80 and 443, and an HTTPS GET of web.telegram.org. `telegram_tcp_blocking` and
 * `telegram_http_blocking` start true; any POST that succeeds clears both, and any failure after
 * the connect clears tcp blocking. The web is blocked when its fetch fails.
 */
import type { TelegramTestKeys } from '@pharos/core';
import { formatEndpoint } from '../../net/endpoint.js';
import { type OwnKeys, runFrame } from './common.js';
import { concurrency, type EndpointRecord, inPool, measureFetch } from './engine.js';
import type { AppExperiment } from './types.js';

export const TELEGRAM_VERSION = '0.3.1';

type Keys = OwnKeys<TelegramTestKeys>;

/** OONI's keys from the data-centre and web records; marks what counts for the verdict. */
export function telegramKeys(datacenters: EndpointRecord[], web: EndpointRecord | undefined): Keys {
  const measured = datacenters.filter((r) => r.status !== 'skipped');
  let tcp: boolean | null = null;
  let http: boolean | null = null;
  if (measured.length > 0) {
    tcp = !measured.some((r) => r.status === 'ok' || r.operation !== 'connect');
    http = !measured.some((r) => r.status === 'ok');
  }
  // The data centres count only when none of them answered (OONI's rule): one unreachable
  // address among working ones does not make Telegram blocked.
  for (const r of datacenters) r.counted = http === true;
  return {
    telegram_http_blocking: http,
    telegram_tcp_blocking: tcp,
    telegram_web_failure: web?.failure ?? null,
    telegram_web_status: !web || web.status === 'skipped' ? null : web.status === 'ok' ? 'ok' : 'blocked',
  };
}

export const telegram: AppExperiment<TelegramTestKeys> = {
  name: 'telegram',
  description:
    "Telegram (OONI ts-020): HTTP POST to the data centres' addresses on 80 and 443, and web.telegram.org over HTTPS",
  run: (options) =>
    runFrame<TelegramTestKeys>(
      {
        testName: 'telegram',
        testVersion: TELEGRAM_VERSION,
        input: null,
        empty: () => telegramKeys([], undefined),
        steps: async (ctx) => {
          const app = ctx.catalog.apps.telegram;
          const maxBodyBytes = ctx.catalog.defaults.max_body_bytes;
          const targets = app.datacenters.flatMap((dc) =>
            app.ports.map((port) => {
              const endpoint = formatEndpoint(dc.ip, port);
              return { name: endpoint, url: `http://${endpoint}/` };
            }),
          );
          const jobs = [
            () => measureFetch(ctx, { name: new URL(app.web).hostname, url: app.web, maxBodyBytes }),
            ...targets.map(
              (t) => () => measureFetch(ctx, { name: t.name, url: t.url, method: 'POST', maxBodyBytes }),
            ),
          ];
          const [web, ...datacenters] = await inPool(jobs, concurrency(ctx), (job) => job());
          const keys = telegramKeys(datacenters, web);
          const throttleURL = app.throttle;
          const throttle = throttleURL && web?.url === new URL(throttleURL).href ? web : undefined;
          return { records: [...datacenters, web!], keys, throttle };
        },
      },
      options,
    ),
};
