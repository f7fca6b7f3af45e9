#!/bin/sh
":" //# ; exec node --optimize-for-size "$0" "$@"
// The `blobhub-worker` command. Read by sh, line 2 runs this same file again under node with the V8 flags of
// main/cli/node-flags.ts (V8 reads flags only when the process starts; `#!/usr/bin/env -S node …` fails
// where env has no -S, e.g. BusyBox). Read by node, line 2 is a string and a comment, and the CLI runs.
// `node bin/blobhub-worker.js …` works too, without the flags.
import '../dist/cli.js';
