/**
 * The platform catalog's format: which endpoints the app and platform experiments measure. The
 * default catalog (platforms.json beside this module) ships with the probe; `--catalog FILE`
 * replaces it with a file of the same format (the lab points every name at its stand-ins).
 * A catalog is input from a file: it is validated before anything reads it.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const hostName = z
  .string()
  .regex(
    /^(localhost|([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63})$/i,
    'not a host name (IP addresses go in ip fields)',
  );
const ipAddress = z.string().refine((s) => isIP(s) !== 0, 'not an IP address');
const port = z.number().int().min(1).max(65535);
const httpsURL = z.url({ protocol: /^https$/ });
const pem = z.string().includes('-----BEGIN CERTIFICATE-----', { message: 'not a PEM certificate' });
/** "1.2.3.0/24", "2a03:2880::/29", or a single address. */
const prefix = z.string().refine((s) => {
  const [ip, bits, extra] = s.split('/');
  if (extra !== undefined || !ip) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}, 'not an address prefix such as 31.13.24.0/21');

const maxBodyBytes = z
  .number()
  .int()
  .min(0)
  .max(1 << 20);

const PlatformEndpoint = z.strictObject({
  host: hostName,
  /** Path (and query) of the small GET; default "/". */
  path: z.string().startsWith('/').default('/'),
  /** Default 443. */
  port: port.optional(),
  /** What the endpoint is for the platform: its web front, its API, media or static CDN. */
  role: z.enum(['web', 'api', 'media', 'static']).default('web'),
  /** Cap on the body kept (and downloaded); default the catalog's defaults.max_body_bytes. */
  max_body_bytes: maxBodyBytes.optional(),
  /** The endpoint a throttling check (if configured) measures for this platform. */
  throttle: z.boolean().optional(),
});

const Platform = z.strictObject({
  name: z.string().min(1),
  /** The platform's own network (used by the lab for its stand-ins; informative otherwise). */
  asn: z.number().int().positive().optional(),
  source: z.string().optional(),
  endpoints: z.array(PlatformEndpoint).min(1),
});

const WhatsApp = z.strictObject({
  name: z.string().default('WhatsApp'),
  asn: z.number().int().positive().optional(),
  endpoints: z.strictObject({ hosts: z.array(hostName).min(1), ports: z.array(port).min(1) }),
  registration: httpsURL,
  web: httpsURL,
  throttle: httpsURL.optional(),
});

const Telegram = z.strictObject({
  name: z.string().default('Telegram'),
  asn: z.number().int().positive().optional(),
  datacenters: z.array(z.strictObject({ name: z.string().min(1), ip: ipAddress })).min(1),
  ports: z.array(port).min(1),
  web: httpsURL,
  throttle: httpsURL.optional(),
});

const Signal = z.strictObject({
  name: z.string().default('Signal'),
  asn: z.number().int().positive().optional(),
  targets: z.array(httpsURL).min(1),
  /** Looked up only; the result does not enter the verdict (as in OONI). */
  uptime: hostName.optional(),
  /** Signal's own certificate authorities: the targets' chains must lead to one of them. */
  ca: z.array(pem).min(1),
  throttle: httpsURL.optional(),
});

const Messenger = z.strictObject({
  name: z.string().default('Facebook Messenger'),
  /** Every DNS answer must belong to this network (Facebook's AS32934). */
  asn: z.number().int().positive(),
  port: port.default(443),
  services: z
    .array(
      z.strictObject({
        /** Names the keys facebook_<key>_dns_consistent and facebook_<key>_reachable. */
        key: z.string().regex(/^[a-z0-9_]+$/),
        host: hostName,
        /** false: DNS only (stun). */
        tcp: z.boolean().default(true),
      }),
    )
    .min(1),
});

export const CatalogSchema = z.strictObject({
  version: z.literal(1),
  about: z.string().optional(),
  defaults: z.strictObject({ max_body_bytes: maxBodyBytes.default(4096) }).default({ max_body_bytes: 4096 }),
  /** Address ranges per ASN, for ownership checks (Messenger's) when no --asn-table is given. */
  asn_prefixes: z.record(z.string().regex(/^\d+$/), z.array(prefix)).default({}),
  apps: z.strictObject({
    whatsapp: WhatsApp,
    telegram: Telegram,
    signal: Signal,
    facebook_messenger: Messenger,
  }),
  platforms: z.record(z.string().regex(/^[a-z0-9_]+$/), Platform),
});

export type Catalog = z.infer<typeof CatalogSchema>;
/** A catalog as a file may spell it (defaults left out). */
export type CatalogFile = z.input<typeof CatalogSchema>;
export type CatalogPlatform = z.infer<typeof Platform>;
export type CatalogPlatformEndpoint = z.infer<typeof PlatformEndpoint>;
