/** Exit codes of every pharos-probe command. */
export const EXIT_OK = 0;
/** A runtime error, or measurements that could not be queued or were refused. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Measurements are still queued because no collector could be reached: try again later. */
export const EXIT_QUEUED = 3;
export const EXIT_INTERRUPTED = 130;
