/** The control request (OONI's test-helper protocol), validated before anything is done with it. */
import { z } from 'zod';

/** A probe sends one endpoint per address and port; no real site needs more. */
export const MAX_ENDPOINTS = 64;

const httpURL = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be an absolute http:// or https:// URL' },
);

export const controlRequestSchema = z.object({
  http_request: httpURL,
  http_request_headers: z.record(z.string(), z.array(z.string())).nullish(),
  // OONI probes send null when the probe resolved no address.
  tcp_connect: z.array(z.string()).max(MAX_ENDPOINTS).nullish(),
  x_quic_enabled: z.boolean().nullish(),
});

export type ParsedControlRequest = z.infer<typeof controlRequestSchema>;

/** "field: problem; field: problem" — what a client needs to fix its request. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
    .join('; ');
}
