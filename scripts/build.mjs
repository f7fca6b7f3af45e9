// Bundles every entry point with esbuild. Node entries stay ESM with node_modules external (they run
// from the development tree); Electron entries are bundled whole (CJS) except `electron` itself;
// the renderer is an IIFE classic script because Chromium blocks module scripts over file://.
// The npm package of the CLI (packages/cli, docs/cli.md → Install) gets its own self-contained bundle:
// every dependency inside, so the package installs with no dependencies at all.
// `--cli-package` builds only that bundle (packages/cli's `prepack`).
import { build } from 'esbuild';
import { cp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const at = (p) => root + p;

const devtoolsStub = {
  name: 'react-devtools-core-stub',
  setup(b) {
    b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents:
        "const off = () => { throw new Error('React devtools are not part of the blobhub-worker package (unset DEV)'); };" +
        'export default { initialize: off, connectToDevTools: off };',
      loader: 'js',
    }));
  },
};

/** packages/cli/dist/cli.js: ESM, all of node_modules bundled, minified (less source held in memory). */
async function cliPackageBundle() {
  // Wiped first: chunk names carry a hash, and the package must not ship a previous build's chunks.
  await rm(at('packages/cli/dist'), { recursive: true, force: true });
  return build({
    entryPoints: { cli: at('main/cli/index.ts') },
    outdir: at('packages/cli/dist'),
    // The terminal dashboard (ink, React, yoga) is a chunk of its own, loaded only by `start --tui`:
    // every other command starts without parsing it.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    legalComments: 'eof',
    jsx: 'automatic',
    // ink imports react-devtools-core only when DEV=true (a development aid, not a dependency): a stub
    // keeps the bundle whole, and saying so beats a missing-module crash.
    plugins: [devtoolsStub],
    // CommonJS dependencies (ws, axios, yaml …) call require() for Node built-ins: give the ESM bundle one.
    banner: {
      js: "import { createRequire as __bhwRequire } from 'node:module'; const require = __bhwRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}

if (process.argv.includes('--cli-package')) {
  await cliPackageBundle();
  process.exit(0);
}

const nodeEntries = {
  cli: 'main/cli/index.ts',
  emulator: 'main/emulator/cli.ts',
  demo: 'main/sandbox/demo-cli.ts',
};

// dist/ is overwritten in place (not wiped) so a rebuild never pulls files from under a running test.
const jobs = [
  build({
    entryPoints: Object.fromEntries(
      Object.entries(nodeEntries)
        .filter(([, entry]) => existsSync(at(entry)))
        .map(([name, entry]) => [name, at(entry)]),
    ),
    outdir: at('dist'),
    // Code splitting keeps the terminal dashboard (ink, React: hundreds of ms to load) out of every
    // command but `start --tui`, which imports it dynamically.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    banner: { js: '#!/usr/bin/env node' },
    // The terminal dashboard's components (main/cli/tui/*.tsx) use React's automatic JSX runtime.
    jsx: 'automatic',
    logLevel: 'warning',
  }),
];
if (existsSync(at('main/electron/main.ts'))) {
  jobs.push(
    build({
      entryPoints: [at('main/electron/main.ts')],
      outfile: at('dist/app/main.cjs'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node22',
      external: ['electron'],
      sourcemap: true,
      logLevel: 'warning',
    }),
  );
}
if (existsSync(at('main/preload/index.ts'))) {
  jobs.push(
    build({
      entryPoints: [at('main/preload/index.ts')],
      outfile: at('dist/app/preload.cjs'),
      bundle: true,
      platform: 'browser',
      format: 'cjs',
      target: 'chrome130',
      external: ['electron'],
      logLevel: 'warning',
    }),
  );
}
if (existsSync(at('renderer/main.ts'))) {
  await mkdir(at('dist/renderer'), { recursive: true });
  jobs.push(
    build({
      entryPoints: [at('renderer/main.ts')],
      outfile: at('dist/renderer/app.js'),
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: 'chrome130',
      sourcemap: true,
      logLevel: 'warning',
    }),
  );
  for (const f of ['index.html', 'styles.css']) {
    if (existsSync(at(`renderer/${f}`))) jobs.push(cp(at(`renderer/${f}`), at(`dist/renderer/${f}`)));
  }
  if (existsSync(at('renderer/assets')))
    jobs.push(cp(at('renderer/assets'), at('dist/renderer/assets'), { recursive: true }));
}
jobs.push(cliPackageBundle());
// The agent simulator (the sandbox's scripted demo agent) runs as plain .mjs files in a child process.
if (existsSync(at('main/sandbox/agent-sim'))) {
  jobs.push(cp(at('main/sandbox/agent-sim'), at('dist/agent-sim'), { recursive: true }));
}
await Promise.all(jobs);
