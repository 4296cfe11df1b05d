/**
 * The platforms (tiktok, youtube, instagram, facebook, x): each is the catalog's set of endpoints
 * (web front, API, media and static CDN names). Per endpoint: the system resolver and a public
 * one, TCP, TLS with the endpoint's name as SNI, and one small GET (the body cut at a few KiB).
 * Failed endpoints are checked with the test helper; the verdict rule is verdict.ts's.
 */
import type { PlatformTestKeys } from '@pharos/core';
import type { CatalogPlatform } from '../catalog/index.js';
import { runFrame } from './common.js';
import { concurrency, inPool, measureFetch } from './engine.js';
import type { AppExperiment } from './types.js';

export const PLATFORM_VERSION = '0.1.0';

/** The platforms of the default catalog, in the order they are listed. */
export const PLATFORM_NAMES = ['tiktok', 'youtube', 'instagram', 'facebook', 'x'] as const;

function endpointURL(e: CatalogPlatform['endpoints'][number]): string {
  return `https://${e.host}${e.port && e.port !== 443 ? `:${e.port}` : ''}${e.path}`;
}

export function platformExperiment(key: string, fallbackName: string): AppExperiment<PlatformTestKeys> {
  return {
    name: key,
    description: `${fallbackName}: DNS (system and public), TCP, TLS with SNI and a small HTTPS GET to each of its catalog endpoints`,
    run: (options) =>
      runFrame<PlatformTestKeys>(
        {
          testName: key,
          testVersion: PLATFORM_VERSION,
          input: key,
          empty: () => ({ x_platform: fallbackName }),
          steps: async (ctx) => {
            const platform = ctx.catalog.platforms[key];
            if (!platform) throw new Error(`the catalog has no platform ${key}`);
            const seen = new Set<string>();
            const endpoints = platform.endpoints.filter((e) => {
              const url = endpointURL(e);
              if (seen.has(url)) return false;
              seen.add(url);
              return true;
            });
            const records = await inPool(endpoints, concurrency(ctx), (e) =>
              measureFetch(ctx, {
                name: e.host,
                url: endpointURL(e),
                maxBodyBytes: e.max_body_bytes ?? ctx.catalog.defaults.max_body_bytes,
                publicDNS: true,
              }),
            );
            const index = endpoints.findIndex((e) => e.throttle);
            return {
              records,
              keys: { x_platform: platform.name },
              throttle: records[Math.max(index, 0)] ?? null,
            };
          },
        },
        options,
      ),
  };
}
