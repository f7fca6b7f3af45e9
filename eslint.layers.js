// The layer table of docs/architecture.md ("Layers"), enforced by ESLint in `npm run lint`.
//
// Every source file belongs to the layer whose path is the longest prefix of its own path. A layer lists the
// paths it may import at runtime and, separately, the paths it may import *types* from (`import type`,
// `import { type X }`, `export type ... from`): types vanish in the build, so a type-only import never drags
// code (or Electron, or Node built-ins) into a bundle. Anything not listed is refused. Files outside every
// layer (test/, bench/, scripts/) may import anything. Import cycles are refused by import-x/no-cycle.
import { builtinModules } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

/** @typedef {{ path: string, runtime: string[], types?: string[], why: string }} Layer */

/** @type {Layer[]} */
export const LAYERS = [
  { path: 'main/version.ts', runtime: [], why: 'the version constant; imports nothing' },
  { path: 'main/core', runtime: ['main/core', 'main/version'], why: 'the headless worker: no shell above it' },
  {
    path: 'main/display',
    runtime: ['main/display'],
    types: ['main/core'],
    why: 'browser-safe words and states derived from a Snapshot, shared by the tray, notifications and renderer',
  },
  {
    path: 'main/ipc',
    runtime: ['main/ipc', 'main/core', 'main/display', 'main/version'],
    why: 'the IPC contract and router: core calls behind zod-checked channels, no Electron',
  },
  {
    path: 'main/desktop',
    runtime: ['main/desktop', 'main/core', 'main/display'],
    types: ['main/ipc'],
    why: 'pure tray-app decisions (tray model, notifications, security, autostart files), no Electron',
  },
  { path: 'main/cli', runtime: ['main/cli', 'main/core', 'main/version'], why: 'the `blobhub-worker` shell' },
  {
    path: 'main/emulator',
    runtime: ['main/emulator', 'main/core', 'main/version'],
    why: 'the local BlobHub; it only borrows the core logger',
  },
  {
    path: 'main/sandbox',
    runtime: ['main/sandbox', 'main/core', 'main/emulator', 'main/version'],
    why: 'emulator + seeded session + scripted agents',
  },
  {
    path: 'main/sandbox/demo-cli.ts',
    runtime: ['main/sandbox', 'main/core', 'main/emulator', 'main/version', 'main/cli/output'],
    why: 'the `npm run demo` entry prints errors the way the CLI does',
  },
  {
    path: 'main/electron',
    runtime: ['main/electron', 'main/core', 'main/display', 'main/ipc', 'main/desktop', 'main/sandbox', 'main/version'],
    why: 'the Electron main process: the only glue that composes everything',
  },
  {
    path: 'main/preload',
    runtime: ['main/preload', 'main/ipc/channels'],
    types: ['main/ipc'],
    why: 'a sandboxed preload: one small bundle that may only require electron',
  },
  {
    path: 'renderer',
    runtime: ['renderer', 'main/display'],
    types: ['main/core', 'main/ipc'],
    why: 'the windows: DOM code that talks to main only through window.workerApi',
  },
];

/** Packages only the Electron processes may load at runtime (under plain Node `electron` throws). */
const ELECTRON_ONLY = /^(electron(\/.*)?|electron-log\/main)$/;
const ELECTRON_LAYERS = new Set(['main/electron', 'main/preload']);
/** Layers that run in a browser context (renderer, sandboxed preload) or are bundled into one. */
const BROWSER_LAYERS = new Set(['renderer', 'main/display', 'main/preload']);
const NODE_BUILTINS = new Set(builtinModules);

const stripExt = (p) => p.replace(/\.(d\.ts|ts|tsx|mts|cts|js|mjs|cjs|jsx)$/, '');
const within = (path, prefix) => path === prefix || path.startsWith(prefix + '/');

/** The layer owning `relPath` (repository-relative, forward slashes, no extension), or null. */
export function layerOf(relPath) {
  let best = null;
  for (const layer of LAYERS) {
    const p = stripExt(layer.path);
    if (within(relPath, p) && (!best || p.length > stripExt(best.path).length)) best = layer;
  }
  return best;
}

function isTypeOnly(node) {
  if (node.type === 'ImportDeclaration') {
    if (node.importKind === 'type') return true;
    return node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type');
  }
  if (node.type === 'ExportNamedDeclaration') {
    if (node.exportKind === 'type') return true;
    return node.specifiers.length > 0 && node.specifiers.every((s) => s.exportKind === 'type');
  }
  if (node.type === 'ExportAllDeclaration') return node.exportKind === 'type';
  return false;
}

/** @type {import('eslint').Rule.RuleModule} */
const importsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports follow the layer table of docs/architecture.md (eslint.layers.js).' },
    schema: [],
    messages: {
      layer: '{{from}} may not import {{to}}{{how}} ({{from}}: {{why}}). See docs/architecture.md, "Layers".',
      electron:
        '{{from}} may not load "{{spec}}" at runtime: only main/electron and main/preload run inside Electron (`import type` is fine).',
      builtin: '{{from}} runs in a browser context and may not import the Node built-in "{{spec}}".',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = relative(root, context.filename).split(sep).join('/');
    const own = layerOf(stripExt(file));
    if (!own) return {};

    function check(node, source, typeOnly) {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const spec = source.value;
      if (!spec.startsWith('.')) {
        if (typeOnly) return;
        if (ELECTRON_ONLY.test(spec) && !ELECTRON_LAYERS.has(own.path))
          context.report({ node: source, messageId: 'electron', data: { from: own.path, spec } });
        else if (BROWSER_LAYERS.has(own.path) && (spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0])))
          context.report({ node: source, messageId: 'builtin', data: { from: own.path, spec } });
        return;
      }
      const target = stripExt(
        relative(root, resolve(dirname(context.filename), spec))
          .split(sep)
          .join('/'),
      );
      const allowed = [...own.runtime, ...(typeOnly ? (own.types ?? []) : [])].map(stripExt);
      if (allowed.some((p) => within(target, p))) return;
      const to = layerOf(target)?.path ?? target;
      const typesOk = !typeOnly && (own.types ?? []).map(stripExt).some((p) => within(target, p));
      context.report({
        node: source,
        messageId: 'layer',
        data: { from: own.path, to, how: typesOk ? ' at runtime (types only)' : '', why: own.why },
      });
    }

    return {
      ImportDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      ExportNamedDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      ExportAllDeclaration: (node) => check(node, node.source, isTypeOnly(node)),
      ImportExpression: (node) => check(node, node.source, false),
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require') check(node, node.arguments[0], false);
      },
    };
  },
};

export const layersPlugin = { meta: { name: 'layers' }, rules: { imports: importsRule } };

/** Flat-config entries: the layer rule and import-x/no-cycle (runtime cycles; type-only imports are exempt). */
export const layerConfigs = [
  {
    files: ['main/**/*.{ts,tsx}', 'renderer/**/*.ts'],
    plugins: { layers: layersPlugin, 'import-x': importX },
    settings: {
      // import-x only follows files with these extensions when it walks the graph for cycles.
      'import-x/extensions': ['.ts', '.tsx', '.js', '.mjs'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] })],
    },
    rules: {
      'layers/imports': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
];
