/**
 * Failure strings for network errors. The mapping itself is core's `failureFromError`; this
 * module adds only what needs the context of a socket, which core cannot see.
 */
import { failureFromError } from '@pharos/core';

/** Raised by our own deadlines; core maps a TimeoutError to `generic_timeout_error`. */
export function timeoutError(what: string): Error {
  const err = new Error(`${what} timed out`);
  err.name = 'TimeoutError';
  return err;
}

/** Raised when the caller's AbortSignal fires; maps to `interrupted`. */
export function interruptedError(): Error {
  return Object.assign(new Error('interrupted'), { code: 'EINTR' });
}

/**
 * The OONI failure string for an error raised while using a socket.
 *
 * Node reports a peer's orderly close (FIN) during a TLS handshake or before an HTTP response
 * with code ECONNRESET, the same code as a real reset (RST); OONI tells them apart (`eof_error`
 * vs `connection_reset`) and so must we: an SNI filter that resets differs from one that
 * closes. A real reset is first seen as an error on the socket itself, so when one was seen it
 * wins; otherwise these Node messages mean the peer closed.
 */
export function netFailure(err: unknown, socketError?: unknown): string {
  if (socketError !== undefined && socketError !== null) return scrub(failureFromError(socketError));
  const e = err as { code?: unknown; message?: unknown } | null;
  if (
    e &&
    e.code === 'ECONNRESET' &&
    typeof e.message === 'string' &&
    /socket hang up|disconnected before secure TLS|^aborted$/i.test(e.message)
  ) {
    return 'eof_error';
  }
  return scrub(failureFromError(err));
}

/**
 * Node appends the local endpoint to some socket errors ("- Local (10.0.0.5:53211)"); that is the
 * volunteer's address and must never reach a measurement.
 */
function scrub(failure: string): string {
  return failure.replace(/\s*-\s*Local\s*\([^)]*\)/g, '');
}

/** Resolves after `ms`, or rejects early when the signal aborts; never leaves a timer behind. */
export function deadline<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  signal?: AbortSignal,
  onExpire?: (err: Error) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (err: Error) =>
      finish(() => {
        onExpire?.(err);
        reject(err);
      });
    const onAbort = () => fail(interruptedError());
    const timer = setTimeout(() => fail(timeoutError(what)), ms);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}
