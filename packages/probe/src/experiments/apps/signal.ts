/**
 * signal (OONI ts-029, as OONI 0.2.5 decides): an HTTPS GET of each Signal service with Signal's
 * own certificate authorities pinned (the chain must lead to one of them; the HTTP status does
 * not matter), and a lookup of uptime.signal.org whose result is ignored. Blocked when any GET
 * fails.
 */
import type { SignalTestKeys } from '@pharos/core';
import { type OwnKeys, runFrame } from './common.js';
import { concurrency, type EndpointRecord, inPool, measureFetch, measureLookup } from './engine.js';
import type { AppExperiment } from './types.js';

export const SIGNAL_VERSION = '0.2.5';

type Keys = OwnKeys<SignalTestKeys>;

export function signalKeys(targets: EndpointRecord[]): Keys {
  const measured = targets.filter((r) => r.status !== 'skipped');
  const failed = measured.find((r) => r.status === 'failed');
  return {
    signal_backend_status: measured.length === 0 ? null : failed ? 'blocked' : 'ok',
    signal_backend_failure: failed?.failure ?? null,
  };
}

export const signal: AppExperiment<SignalTestKeys> = {
  name: 'signal',
  description: "Signal (OONI ts-029): HTTPS GETs to Signal's services with Signal's own CA pinned",
  run: (options) =>
    runFrame<SignalTestKeys>(
      {
        testName: 'signal',
        testVersion: SIGNAL_VERSION,
        input: null,
        empty: () => signalKeys([]),
        steps: async (ctx) => {
          const app = ctx.catalog.apps.signal;
          const maxBodyBytes = ctx.catalog.defaults.max_body_bytes;
          const jobs = app.targets.map(
            (url) => () =>
              measureFetch(ctx, { name: new URL(url).hostname, url, maxBodyBytes, pinnedCA: app.ca }),
          );
          const uptimeHost = app.uptime;
          const [targets, uptime] = await Promise.all([
            inPool(jobs, concurrency(ctx), (job) => job()),
            uptimeHost ? measureLookup(ctx, { name: uptimeHost, host: uptimeHost }) : undefined,
          ]);
          if (uptime) {
            uptime.counted = false;
            uptime.informational = true;
          }
          const keys = signalKeys(targets);
          const throttleURL = app.throttle;
          const throttle = throttleURL ? targets.find((r) => r.url === new URL(throttleURL).href) : undefined;
          return { records: uptime ? [...targets, uptime] : targets, keys, throttle };
        },
      },
      options,
    ),
};
