/**
 * What can be checked of packaging without the Electron binary: electron-builder.yml passes electron-builder's
 * own schema and says what the docs promise, and the built Electron bundles require nothing they cannot
 * load (a sandboxed preload may only require `electron`; main is self-contained apart from `electron`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire, builtinModules } from 'node:module';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT } from './harness';

const require = createRequire(import.meta.url);
const config = YAML.parse(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<
  string,
  Record<string, unknown>
> & { files: string[] };

/** electron-builder's own validation (its JSON schema, app-builder-lib/scheme.json). */
function validate(c: unknown): Promise<void> {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
    validateConfiguration: (c: unknown, logger: unknown) => Promise<void>;
  };
  const { DebugLogger } = require('builder-util/out/DebugLogger') as { DebugLogger: new (enabled: boolean) => unknown };
  return validateConfiguration(c, new DebugLogger(false));
}

test('packaging: electron-builder.yml is valid for electron-builder and covers the three platforms', async () => {
  await validate(config);
  await assert.rejects(validate({ ...config, mac: { target: 42 } }), 'the validator does reject');

  assert.equal((config.mac.extendInfo as Record<string, unknown>).LSUIElement, true, 'no dock icon on macOS');
  assert.deepEqual((config.linux.target as string[]).sort(), ['AppImage', 'deb']);
  assert.equal((config.win.target as Array<{ target: string }>)[0].target, 'nsis');
  assert.equal((config.mac.target as Array<{ target: string }>)[0].target, 'dmg');
  assert.ok(config.files.includes('dist/**') && config.files.includes('package.json'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    main: string;
    scripts: Record<string, string>;
  };
  assert.equal(pkg.main, 'dist/app/main.cjs');
  assert.match(pkg.scripts.dist ?? '', /electron-builder --config electron-builder\.yml/);
});

test("packaging: Electron fuses are set (RunAsNode kept for the sandbox's demo agent), and the schema knows every key", async () => {
  assert.deepEqual(config.electronFuses, {
    runAsNode: true, // main/sandbox/launcher.ts starts the demo agent with ELECTRON_RUN_AS_NODE=1
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    onlyLoadAppFromAsar: true,
    enableEmbeddedAsarIntegrityValidation: true,
    resetAdHocDarwinSignature: true,
  });
  assert.equal(config.asar, true, 'onlyLoadAppFromAsar and asar integrity need an asar archive');
  const launcher = readFileSync(join(ROOT, 'main/sandbox/launcher.ts'), 'utf8');
  assert.match(launcher, /ELECTRON_RUN_AS_NODE=1/, 'if the sandbox stops needing RunAsNode, turn the fuse off');
  // A misspelt fuse must not pass silently: the schema rejects unknown keys under electronFuses.
  await assert.rejects(validate({ ...config, electronFuses: { ...config.electronFuses, runAsnode: false } }));
});

function requiredModules(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...new Set([...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]))].sort();
}

test('packaging: the sandboxed preload requires only electron; main only electron and node builtins', () => {
  assert.deepEqual(requiredModules('dist/app/preload.cjs'), ['electron']);
  const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  // ws's optional native speed-ups, required inside try/catch: absent in the package, and that is fine.
  const optional = new Set(['bufferutil', 'utf-8-validate']);
  const foreign = requiredModules('dist/app/main.cjs').filter(
    (m) => !builtins.has(m) && m !== 'electron' && !optional.has(m),
  );
  assert.deepEqual(foreign, [], 'main.cjs is bundled whole except electron');
});
