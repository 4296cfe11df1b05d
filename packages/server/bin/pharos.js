#!/usr/bin/env node
// Launcher for the compiled CLI. It is committed (unlike dist/) so that npm can link the bin
// when it installs the workspace, before the build has run.
import('../dist/cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('pharos: the build is missing; run "npm run build" in the repository first');
    process.exit(1);
  }
  throw err;
});
