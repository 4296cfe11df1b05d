/**
 * Runs async work one piece at a time, in the order given: a DuckDB connection answers one query
 * at a time, and a read-modify-write (an incident reconciled, then stored) must not interleave with
 * another. A failed piece does not stop the ones after it.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => {});
    return result;
  }
}
