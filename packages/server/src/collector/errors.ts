/**
 * A refused submission: the HTTP status and the reason the client is told. Thrown anywhere in the
 * pipeline and turned into the response by the route; nothing of a refused batch is stored.
 */
export class SubmissionError extends Error {
  readonly status: number;
  /**
   * A fixed tag for logs. The message goes to the client only: it can quote the client's own
   * bytes (a JSON snippet, an unknown field name), and those may hold its address.
   */
  readonly kind: SubmissionErrorKind;
  /** Extra response headers, e.g. Retry-After on 429 and 503. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    kind: SubmissionErrorKind,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'SubmissionError';
    this.status = status;
    this.kind = kind;
    this.headers = headers;
  }
}

export type SubmissionErrorKind =
  | 'encoding'
  | 'body-size'
  | 'json'
  | 'schema'
  | 'measurement-size'
  | 'key'
  | 'signature'
  | 'rate-limit'
  | 'busy'
  | 'scrub';

/** A problem with one measurement of the batch: the message names it (`measurements[3]: ...`). */
export function itemError(
  index: number,
  kind: SubmissionErrorKind,
  problem: string,
  status = 400,
): SubmissionError {
  return new SubmissionError(status, kind, `measurements[${index}]: ${problem}`);
}
