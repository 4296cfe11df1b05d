/**
 * The test helper's answer is input from the network: validated before anything reads it.
 * Lenient where OONI's helpers are (optional parts, nulls), strict on types.
 */
import type { ControlResponse } from '@pharos/core';
import { z } from 'zod';

const failure = z.string().nullable();

const schema = z.object({
  tcp_connect: z
    .record(z.string(), z.object({ status: z.boolean(), failure }))
    .nullable()
    .default({}),
  tls_handshake: z
    .record(z.string(), z.object({ server_name: z.string(), status: z.boolean(), failure }))
    .nullish()
    .transform((v) => v ?? undefined),
  quic_handshake: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((v) => v ?? undefined),
  http_request: z.object({
    body_length: z.number(),
    discovered_h3_endpoint: z.string().optional(),
    failure,
    title: z.string(),
    headers: z.record(z.string(), z.string()).nullable().default({}),
    status_code: z.number(),
  }),
  http3_request: z.unknown().optional(),
  dns: z.object({ failure, addrs: z.array(z.string()).nullable().default([]) }),
  ip_info: z
    .record(z.string(), z.object({ asn: z.number(), flags: z.number() }))
    .nullish()
    .transform((v) => v ?? undefined),
});

export function parseControlResponse(value: unknown): ControlResponse | null {
  const parsed = schema.safeParse(value);
  if (!parsed.success) return null;
  const v = parsed.data;
  return {
    ...v,
    tcp_connect: v.tcp_connect ?? {},
    http_request: { ...v.http_request, headers: v.http_request.headers ?? {} },
    dns: { failure: v.dns.failure, addrs: v.dns.addrs ?? [] },
  };
}
