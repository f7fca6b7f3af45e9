/**
 * `npm run lint` guards the layer table of docs/architecture.md (eslint.layers.js) and the promise rules.
 * Each case lints a real file of the tree with a planted line through ESLint's own Node API (the repository's
 * eslint.config.js, type-aware), and asserts the exact rule that must fire — and, as a control, that the
 * unchanged file and the allowed form of the same import lint clean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = new URL('..', import.meta.url).pathname;
// With CI=true typescript-eslint assumes one pass over files as they are on disk (single-run inference) and
// would type the planted text against the unchanged file; these tests lint edited text, so they opt out.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: { languageOptions: { parserOptions: { disallowAutomaticSingleRunInference: true } } },
});

/** Rule ids ESLint reports for `file` (repository-relative) when its text is `original + planted`. */
async function rulesFor(file: string, planted: string): Promise<string[]> {
  const original = readFileSync(join(root, file), 'utf8');
  const [result] = await eslint.lintText(`${planted}\n${original}`, { filePath: join(root, file) });
  assert.ok(result, `ESLint returned a result for ${file}`);
  const fatal = result.messages.filter((m) => m.fatal);
  assert.deepEqual(fatal, [], `${file} parses`);
  return result.messages.map((m) => m.ruleId ?? 'none');
}

test('layers: the files used below lint clean as they are', { timeout: 300_000 }, async () => {
  for (const file of ['renderer/format.ts', 'main/core/errors.ts', 'main/ipc/channels.ts', 'main/core/ids.ts'])
    assert.deepEqual(await rulesFor(file, ''), [], file);
});

test('layers: the renderer imports types from main/core, never runtime code', { timeout: 300_000 }, async () => {
  const runtime = await rulesFor(
    'renderer/format.ts',
    "import { WorkerError } from '../main/core/errors';\nexport const planted = WorkerError;",
  );
  assert.deepEqual(runtime, ['layers/imports']);
  const typeOnly = await rulesFor(
    'renderer/format.ts',
    "import type { WorkerError } from '../main/core/errors';\nexport type Planted = WorkerError;",
  );
  assert.deepEqual(typeOnly, []);
  // The shared display folder is the renderer's one runtime import from main/.
  const display = await rulesFor(
    'renderer/format.ts',
    "import { truncate } from '../main/display/status';\nexport const planted = truncate;",
  );
  assert.deepEqual(display, []);
});

test(
  'layers: the core imports no shell, and main/ipc does not reach into main/desktop',
  { timeout: 300_000 },
  async () => {
    assert.deepEqual(
      await rulesFor(
        'main/core/ids.ts',
        "import { IPC_CHANNELS } from '../ipc/channels';\nexport const planted = IPC_CHANNELS;",
      ),
      ['layers/imports'],
    );
    assert.deepEqual(
      await rulesFor('main/ipc/channels.ts', "import { CSP } from '../desktop/security';\nexport const planted = CSP;"),
      ['layers/imports'],
    );
    // Even a type-only import from desktop is outside the ipc row of the table.
    assert.deepEqual(
      await rulesFor(
        'main/ipc/channels.ts',
        "import type { TrayItem } from '../desktop/tray-model';\nexport type P = TrayItem;",
      ),
      ['layers/imports'],
    );
  },
);

test(
  'layers: electron only at runtime in main/electron and main/preload; no Node built-ins in the renderer',
  { timeout: 300_000 },
  async () => {
    assert.deepEqual(
      await rulesFor('main/core/ids.ts', "import { app } from 'electron';\nexport const planted = app;"),
      ['layers/imports'],
    );
    assert.deepEqual(
      await rulesFor('main/core/ids.ts', "import type { App } from 'electron';\nexport type Planted = App;"),
      [],
    );
    assert.deepEqual(await rulesFor('renderer/format.ts', "import 'node:fs';"), ['layers/imports']);
  },
);

test('layers: a runtime import cycle is reported', { timeout: 300_000 }, async () => {
  // preflight.ts imports errors.ts at runtime; errors.ts importing preflight.ts closes the loop.
  assert.match(
    readFileSync(join(root, 'main/core/preflight.ts'), 'utf8'),
    /import \{[^}]*\bWorkerError\b[^}]*\} from '\.\/errors'/,
  );
  assert.deepEqual(
    await rulesFor(
      'main/core/errors.ts',
      "import { runPreflight } from './preflight';\nexport const planted = runPreflight;",
    ),
    ['import-x/no-cycle'],
  );
});

test(
  'lint: a floating promise and a promise passed where a void callback goes are reported',
  { timeout: 300_000 },
  async () => {
    const floating = await rulesFor(
      'main/core/ids.ts',
      'function plantedWork(): Promise<void> {\n  return Promise.resolve();\n}\nexport function planted(): void {\n  plantedWork();\n}',
    );
    assert.deepEqual(floating, ['@typescript-eslint/no-floating-promises']);
    const owned = await rulesFor(
      'main/core/ids.ts',
      'function plantedWork(): Promise<void> {\n  return Promise.resolve();\n}\nexport function planted(): void {\n  plantedWork().catch(() => undefined);\n}',
    );
    assert.deepEqual(owned, []);
    const misused = await rulesFor(
      'main/core/ids.ts',
      "import { EventEmitter } from 'node:events';\nexport function planted(e: EventEmitter): void {\n  e.on('x', async () => {\n    await Promise.resolve();\n  });\n}",
    );
    assert.deepEqual(misused, ['@typescript-eslint/no-misused-promises']);
  },
);
