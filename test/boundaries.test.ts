/**
 * The Electron binary cannot run here, and the core must stay headless: no module that the core, the CLI,
 * the IPC contract or the renderer load may import `electron` at runtime (type-only imports are fine).
 * This scans sources for the static import and also loads the built CLI/core bundles with a resolver hook
 * that fails the test the moment anything asks for `electron`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
// main/desktop is the app's pure logic: the desktop tests load it under plain Node.
const HEADLESS_DIRS = [
  'main/core',
  'main/cli',
  'main/ipc',
  'main/desktop',
  'main/display',
  'main/emulator',
  'main/sandbox',
  'renderer',
];

function* sourceFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sourceFiles(p);
    else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(name)) yield p;
  }
}

const RUNTIME_ELECTRON =
  /(^|\n)\s*import\s+(?!type\b)[^;]*from\s+['"]electron(\/[^'"]*)?['"]|require\(\s*['"]electron(\/[^'"]*)?['"]\s*\)|import\(\s*['"]electron['"]\s*\)|from\s+['"]electron-log\/main['"]/;

test('no runtime electron import in headless code (static scan)', () => {
  const offenders: string[] = [];
  for (const dir of HEADLESS_DIRS) {
    for (const file of sourceFiles(join(root, dir))) {
      if (RUNTIME_ELECTRON.test(readFileSync(file, 'utf8'))) offenders.push(relative(root, file));
    }
  }
  assert.deepEqual(offenders, [], `runtime electron imports: ${offenders.join(', ')}`);
});

test('the scan itself catches a runtime import and ignores a type-only one', () => {
  assert.ok(RUNTIME_ELECTRON.test("import { app } from 'electron';"));
  assert.ok(RUNTIME_ELECTRON.test("const { app } = require('electron')"));
  assert.ok(!RUNTIME_ELECTRON.test("import type { App } from 'electron';"));
});

test('the built CLI loads without resolving electron', () => {
  const cli = join(root, 'dist/cli.js');
  assert.ok(existsSync(cli), 'dist/cli.js must be built (npm run build)');
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(s,c,n){if(s==='electron'||s.startsWith('electron/')||s==='electron-log/main')throw new Error('ELECTRON_IMPORTED:'+s);return n(s,c);}",
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(`import {register} from 'node:module'; register(${JSON.stringify(hook)});`)}`;
  const out = execFileSync(process.execPath, ['--import', register, cli, '--help'], { encoding: 'utf8' });
  assert.match(out, /blobhub-worker/);
});
