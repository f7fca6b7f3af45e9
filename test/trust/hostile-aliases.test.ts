/**
 * A thread alias is chosen by any session member: aliases with `/`, `..`, NUL, newlines, 1,000 characters or
 * lone surrogates still run as threads, each in its own folder directly under the job's `threads/` folder, and
 * nothing is written anywhere else under (or outside) the state root. Folder names are stable: a second worker
 * on the same state root finds the same folders (README "Files").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { aliasFolderName } from '../../main/core/state/paths';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot } from '../harness/support';

const HOSTILE = [
  '../../../escape',
  '..',
  '.',
  'a/b/c',
  '/abs/path',
  'nul\u0000byte',
  'new\nline\r\n',
  'x'.repeat(1000),
  '..\\..\\windows',
  'lone\uD800surrogate',
  '~tilde',
];

test('alias folder names: plain aliases unchanged, anything else a slug + hash, one folder, stable', () => {
  for (const plain of ['job', 'feature-login_1.x', 'a'.repeat(255), 'con']) {
    assert.equal(aliasFolderName(plain, 'linux'), plain);
  }
  assert.notEqual(aliasFolderName('con', 'win32'), 'con', 'a Windows device name is never a folder name there');
  assert.notEqual(aliasFolderName('trailing.', 'win32'), 'trailing.');
  const names = new Set<string>();
  for (const alias of [...HOSTILE, 'a b', 'a-b', 'a_b', '\uFFFD', '\uD800', 'x'.repeat(256)]) {
    const name = aliasFolderName(alias, 'linux');
    assert.match(name, /^[A-Za-z0-9._-]{0,40}~[0-9a-f]{12}$|^[A-Za-z0-9._-]+$/, `${JSON.stringify(alias)} → ${name}`);
    assert.ok(name.length <= 60 || name === alias, `short: ${name}`);
    assert.ok(name !== '.' && name !== '..' && !name.startsWith('.'), name);
    assert.equal(aliasFolderName(alias, 'linux'), name, 'stable');
    names.add(name);
  }
  assert.equal(names.size, HOSTILE.length + 6, 'every alias has its own folder');
  assert.equal(aliasFolderName('a/b'), 'a-b~' + aliasFolderName('a/b').split('~')[1]);
});

/** Every file and folder under `dir`, relative to it. */
function walk(dir: string, out: string[] = [], base = dir): string[] {
  for (const name of readdirSync(dir)) {
    if (/^\..*\.tmp$/.test(name)) continue; // an atomic write in progress (temp file + rename)
    const path = join(dir, name);
    out.push(relative(base, path));
    if (statSync(path).isDirectory()) walk(path, out, base);
  }
  return out;
}

test('hostile aliases run end to end, each in one folder under threads/, nothing written elsewhere', async (t) => {
  const rig = await makeRig(t, { maxAgents: HOSTILE.length });
  for (const alias of HOSTILE) {
    rig.chat(alias);
    rig.say(alias, 'hi');
    rig.handoff(alias);
  }
  const host = rig.host();
  await host.start();
  for (const alias of HOSTILE) {
    await waitFor(() => agentTexts(rig, alias).length > 0, `agent answered in ${JSON.stringify(alias)}`, {
      timeoutMs: 30_000,
    });
  }
  await waitSnapshot(host, (s) => HOSTILE.every((a) => threadOf(s, a)?.state === 'active_idle'), 'all idle', 20_000);

  const job = rig.paths.job(rig.ref.session_id);
  const expected = new Set(HOSTILE.map((a) => aliasFolderName(a)));
  for (const alias of HOSTILE) {
    const dir = job.threadDir(alias);
    assert.equal(relative(job.threadsDir, dir).split(sep).length, 1, `one level under threads/: ${dir}`);
    assert.ok(existsSync(join(dir, 'thread.yaml')), `thread.yaml of ${JSON.stringify(alias)}`);
    assert.ok(existsSync(join(dir, 'logs', 'thread.log')), `thread.log of ${JSON.stringify(alias)}`);
    assert.equal((await rig.threadYaml(alias))?.alias, alias, 'thread.yaml records the real alias');
  }
  // Under threads/: exactly the hostile aliases' folders and the worker thread's.
  assert.deepEqual(
    readdirSync(job.threadsDir).sort(),
    [...expected, 'worker'].sort(),
    'no folder besides the threads (and the worker thread)',
  );
  // Nothing in the state root outside the known files and the job folder.
  const top = readdirSync(rig.home).filter((n) => !/^\..*\.tmp$/.test(n));
  for (const name of top) {
    assert.ok(
      [
        'config.yaml',
        'control.sock',
        'credentials.yaml',
        'identity.yaml',
        'instance.yaml',
        'snapshot.json',
        'jobs',
        'logs',
      ].includes(name),
      `unexpected ${name} in the state root`,
    );
  }
  for (const path of walk(join(rig.home, 'jobs'))) {
    const parts = path.split(sep);
    assert.equal(parts[0], job.dir.split(sep).pop(), `only the job folder: ${path}`);
    if (parts.length > 1) assert.ok(['section.yaml', 'logs', 'threads'].includes(parts[1]), path);
  }
  // Nothing escaped next to the state root either (the rig's temp folder holds home, repo and agent files).
  const outside = readdirSync(join(rig.home, '..')).filter(
    (n) => !['home', 'repo', 'record.jsonl', 'scenario.json', 'agent-state'].includes(n),
  );
  assert.deepEqual(outside, [], 'nothing written next to the state root');

  // Stable across restarts: a second worker on the same root finds the threads' folders and resumes them.
  await host.stop();
  const again = rig.host();
  await again.start();
  await waitSnapshot(again, (s) => HOSTILE.every((a) => threadOf(s, a)?.state === 'active_idle'), 'resumed', 20_000);
  assert.deepEqual(readdirSync(job.threadsDir).sort(), [...expected, 'worker'].sort(), 'same folders after restart');
});
