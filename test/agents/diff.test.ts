/** Diffs before approval (main/core/agents/diff.ts): Claude edit inputs against the file on disk, Codex changes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { claudeEditDiff, codexChangesDiff, DIFF_MAX_BYTES, DIFF_MAX_FILE_BYTES } from '../../main/core/agents/diff';
import { tempDir } from '../support/process';
import { fitToBudget, ITEM_BUDGET_BYTES } from '../../main/core/harness/outbound/budget';

test('Edit: applied to the file on disk, unified diff with context and a +N −M brief', async (t) => {
  const tmp = await tempDir('bhw-diff-');
  t.after(() => tmp.cleanup());
  await writeFile(join(tmp.path, 'f.txt'), 'one\ntwo\nthree\nfour\n');
  const d = claudeEditDiff(
    'Edit',
    { file_path: join(tmp.path, 'f.txt'), old_string: 'two', new_string: 'TWO\n2b' },
    tmp.path,
  );
  assert.ok(d);
  assert.equal(d.diff, '--- a/f.txt\n+++ b/f.txt\n@@ -1,4 +1,5 @@\n one\n-two\n+TWO\n+2b\n three\n four\n');
  assert.equal(d.summary, '+2 −1 f.txt');
  // replace_all replaces every occurrence, the first-only default just one.
  await writeFile(join(tmp.path, 'g.txt'), 'x\nx\n');
  const all = claudeEditDiff(
    'Edit',
    { file_path: join(tmp.path, 'g.txt'), old_string: 'x', new_string: 'y', replace_all: true },
    tmp.path,
  );
  assert.equal(all?.summary, '+2 −2 g.txt');
  const first = claudeEditDiff(
    'Edit',
    { file_path: join(tmp.path, 'g.txt'), old_string: 'x', new_string: 'y' },
    tmp.path,
  );
  assert.equal(first?.summary, '+1 −1 g.txt');
});

test('MultiEdit applies its edits in order; an edit that does not apply shows the edit with a note', async (t) => {
  const tmp = await tempDir('bhw-diff-');
  t.after(() => tmp.cleanup());
  const file = join(tmp.path, 'src', 'a.ts');
  await writeFile(join(tmp.path, 'a.ts'), 'let a = 1;\nlet b = 2;\n');
  const d = claudeEditDiff(
    'MultiEdit',
    {
      file_path: join(tmp.path, 'a.ts'),
      edits: [
        { old_string: 'a = 1', new_string: 'a = 10' },
        { old_string: 'a = 10', new_string: 'a = 11' },
      ],
    },
    tmp.path,
  );
  assert.equal(d?.diff, '--- a/a.ts\n+++ b/a.ts\n@@ -1,2 +1,2 @@\n-let a = 1;\n+let a = 11;\n let b = 2;\n');
  const missing = claudeEditDiff(
    'Edit',
    { file_path: join(tmp.path, 'a.ts'), old_string: 'nope', new_string: 'x' },
    tmp.path,
  );
  assert.match(missing!.summary, /^\+1 −1 a\.ts \(text to replace not found in the file on disk\)$/);
  const absent = claudeEditDiff('Edit', { file_path: file, old_string: 'a', new_string: 'b' }, tmp.path);
  assert.match(absent!.summary, /file does not exist yet/);
});

test('Write: a new file is all additions, an existing one a real diff; outside the work folder the path stays absolute', async (t) => {
  const tmp = await tempDir('bhw-diff-');
  const other = await tempDir('bhw-diff-other-');
  t.after(() => Promise.all([tmp.cleanup(), other.cleanup()]));
  const created = claudeEditDiff('Write', { file_path: join(tmp.path, 'new.txt'), content: 'a\nb\n' }, tmp.path);
  assert.equal(created?.diff, '--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n');
  assert.equal(created?.summary, '+2 −0 new.txt');
  await writeFile(join(other.path, 'x.txt'), 'a\n');
  const outside = claudeEditDiff('Write', { file_path: join(other.path, 'x.txt'), content: 'b\n' }, tmp.path);
  assert.equal(outside?.summary, `+1 −1 ${join(other.path, 'x.txt')}`);
});

test('NotebookEdit: the cell source before and after', async (t) => {
  const tmp = await tempDir('bhw-diff-');
  t.after(() => tmp.cleanup());
  const nb = { cells: [{ id: 'c1', cell_type: 'code', source: ['print(1)\n', 'print(2)'] }], nbformat: 4 };
  await writeFile(join(tmp.path, 'n.ipynb'), JSON.stringify(nb));
  const d = claudeEditDiff(
    'NotebookEdit',
    { notebook_path: join(tmp.path, 'n.ipynb'), cell_id: 'c1', new_source: 'print(1)\nprint(3)' },
    tmp.path,
  );
  assert.equal(d?.summary, '+1 −1 n.ipynb [cell c1]');
  assert.match(d.diff, /-print\(2\)\n\+print\(3\)\n/);
});

test('bounds: a file over the read limit is not diffed; a huge diff is cut head + marker + tail', async (t) => {
  const tmp = await tempDir('bhw-diff-');
  t.after(() => tmp.cleanup());
  await writeFile(join(tmp.path, 'big.txt'), 'x'.repeat(DIFF_MAX_FILE_BYTES + 1));
  const big = claudeEditDiff(
    'Edit',
    { file_path: join(tmp.path, 'big.txt'), old_string: 'x', new_string: 'y' },
    tmp.path,
  );
  assert.match(big!.summary, /file too large to diff/);
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'z'.repeat(20)}`).join('\n') + '\n';
  const huge = claudeEditDiff('Write', { file_path: join(tmp.path, 'huge.txt'), content: lines }, tmp.path);
  assert.ok(Buffer.byteLength(huge!.diff) < DIFF_MAX_BYTES + 200);
  assert.match(huge!.diff, /… \[\d+ bytes truncated; full text in thread\.log\] …/);
  assert.ok(huge!.diff.startsWith('--- /dev/null\n+++ b/huge.txt\n'));
  assert.equal(huge!.summary, '+20000 −0 huge.txt');
});

test('other tools and malformed inputs give no diff', () => {
  assert.equal(claudeEditDiff('Bash', { command: 'ls' }, '/'), null);
  assert.equal(claudeEditDiff('Edit', { file_path: 3 }, '/'), null);
  assert.equal(claudeEditDiff('Write', null, '/'), null);
  assert.equal(codexChangesDiff('nope', '/'), null);
  assert.equal(codexChangesDiff([], '/'), null);
});

test('Codex fileChange: add (the captured shape), update hunks, delete', () => {
  // appserver-01: changes:[{path, kind:{type:"add"}, diff:"patched line\n"}]
  const d = codexChangesDiff(
    [
      { path: '/home/user/project/patched.txt', kind: { type: 'add' }, diff: 'patched line\n' },
      { path: '/home/user/project/b.txt', kind: 'update', diff: '@@ -1 +1 @@\n-old\n+new\n' },
      { path: '/home/user/project/gone.txt', kind: 'delete', diff: 'bye\n' },
    ],
    '/home/user/project',
  );
  assert.equal(d?.summary, '+1 −0 patched.txt\n+1 −1 b.txt\n+0 −1 gone.txt');
  assert.equal(
    d?.diff,
    '--- /dev/null\n+++ b/patched.txt\n@@ -0,0 +1,1 @@\n+patched line\n' +
      '--- a/b.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-old\n+new\n' +
      '--- a/gone.txt\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-bye\n',
  );
});

test('the item budget can cut a prompt diff and a plan (protocol §8.2 fields)', () => {
  const pending = (prompt: Record<string, unknown>) => ({
    content: [{ type: 'text' as const, text: 'brief' }],
    metadata: { type: 'pending_prompt', emission_id: 'em_1', prompt: { id: 'pr_1', ...prompt } },
  });
  const diff = fitToBudget(pending({ kind: 'approval', diff: '+x\n'.repeat(200_000) }));
  assert.ok(diff.bytes <= ITEM_BUDGET_BYTES);
  assert.deepEqual(diff.truncated?.fields, ['metadata.prompt.diff']);
  const plan = fitToBudget(pending({ kind: 'plan', plan: 'p'.repeat(400_000) }));
  assert.ok(plan.bytes <= ITEM_BUDGET_BYTES);
  assert.deepEqual(plan.truncated?.fields, ['metadata.prompt.plan']);
});
