/**
 * libuv's thread pool runs every file operation (the body files' fdatasync, tile writes and their
 * fsyncs) and every asynchronous DuckDB call. With its default of 4 threads, an ingest commit's
 * BEGIN and COMMIT waited 20–30 ms behind fsyncs (measured under bench:ingest). The size is read
 * when the pool first starts, so this module is imported before anything else, and an explicit
 * UV_THREADPOOL_SIZE still wins.
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
