/**
 * The operator's `policy:` block (README Configuration, docs/harness.md "Policy"): any session member can write a
 * thread envelope, so the envelope's `agent.executable`, `agent.permissions: autonomous` and its work folder are
 * limited by config.yaml. A handoff outside the policy fails with a named code whose message names the policy;
 * symlinks and `..` cannot leave the allowed roots; the defaults keep today's behaviour.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { DEFAULT_POLICY, parseConfigText } from '../../main/core/state/config';
import { checkWorkFolderPolicy } from '../../main/core/harness/handoff';
import { isWorkerError } from '../../main/core/errors';
import { Snapshot } from '../../main/core/snapshot';
import { FAKE_CLAUDE, agentTexts, makeRig, threadOf, waitFor, waitSnapshot, type Rig } from '../harness/support';

const SECTION = `sections:
  - job_type: session_agent_harness
    session: { org_id: o, blob_id: b, revision_id: r, session_id: s }
`;

test('policy: documented defaults (the envelope decides), validation, unknown keys warned', () => {
  const plain = parseConfigText(SECTION).config;
  assert.deepEqual(plain.policy, {
    envelope_executable: 'allow',
    max_permissions: 'autonomous',
    work_folder_roots: [],
  });
  assert.deepEqual(plain.policy, DEFAULT_POLICY);
  assert.deepEqual(parseConfigText('policy:\n' + SECTION).config.policy, DEFAULT_POLICY);
  const set = parseConfigText(
    'policy: {envelope_executable: deny, max_permissions: approval, work_folder_roots: [/srv/a, /srv/b]}\n' + SECTION,
  ).config.policy;
  assert.deepEqual(set, {
    envelope_executable: 'deny',
    max_permissions: 'approval',
    work_folder_roots: ['/srv/a', '/srv/b'],
  });
  const bad: Array<[string, RegExp]> = [
    ['policy: {envelope_executable: maybe}', /policy\.envelope_executable/],
    ['policy: {max_permissions: yolo}', /policy\.max_permissions/],
    ['policy: {work_folder_roots: [relative/dir]}', /policy\.work_folder_roots\[0\].*absolute/],
    ['policy: {work_folder_roots: /srv}', /policy\.work_folder_roots/],
    [
      'policy: {max_permissions: approval}\nagents: {codex: {permissions: autonomous}}',
      /agents\.codex\.permissions is autonomous, above policy\.max_permissions/,
    ],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => parseConfigText(text + '\n' + SECTION),
      (e: unknown) => isWorkerError(e, 'INVALID_CONFIG') && message.test(e.message),
      text,
    );
  }
  assert.deepEqual(parseConfigText('policy: {envelope_exe: deny}\n' + SECTION).warnings, [
    'unknown key ignored: policy.envelope_exe',
  ]);
});

test('work_folder_roots compares real paths: .., symlinks out and prefixes of names do not pass', async (t) => {
  const rig = await makeRig(t);
  const root = rig.workFolder;
  const outside = join(root, '..', 'outside');
  await mkdir(outside, { recursive: true });
  await mkdir(join(root, 'sub'), { recursive: true });
  await mkdir(root + '-sibling', { recursive: true });
  await symlink(outside, join(root, 'link-out'));
  await symlink(join(root, 'sub'), join(outside, 'link-in'));
  const realRoot = await realpath(root);
  assert.equal(await checkWorkFolderPolicy(root, []), root, 'no roots: anywhere, unchanged');
  assert.equal(await checkWorkFolderPolicy(root, [root]), realRoot);
  assert.equal(await checkWorkFolderPolicy(join(root, 'sub'), [root]), join(realRoot, 'sub'));
  assert.equal(await checkWorkFolderPolicy(join(outside, 'link-in'), [root]), join(realRoot, 'sub'), 'a link in');
  for (const denied of [outside, join(root, 'link-out'), join(root, 'sub', '..', '..', 'outside'), root + '-sibling']) {
    await assert.rejects(checkWorkFolderPolicy(denied, [root]), (e: unknown) =>
      isWorkerError(e, 'WORK_FOLDER_NOT_ALLOWED'),
    );
  }
  // A root given through a symlink is compared by its real path too.
  await symlink(root, join(outside, 'root-link'));
  assert.equal(await checkWorkFolderPolicy(join(root, 'sub'), [join(outside, 'root-link')]), join(realRoot, 'sub'));
});

function failedItems(rig: Rig): Map<string, { code: string; message: string }> {
  const out = new Map<string, { code: string; message: string }>();
  for (const i of rig.items('worker')) {
    const m = i.metadata as { type?: string; alias?: string; error?: { code: string; message: string } } | undefined;
    if (m?.type === 'thread_failed' && m.alias && m.error) out.set(m.alias, m.error);
  }
  return out;
}

test('a handoff outside the policy fails with a named code through the worker; one inside runs', async (t) => {
  const rig = await makeRig(t);
  const root = rig.workFolder;
  const outside = join(root, '..', 'outside');
  await mkdir(outside, { recursive: true });
  await mkdir(join(root, 'sub'), { recursive: true });
  await symlink(outside, join(root, 'link-out'));
  const config = YAML.parse(await readFile(rig.paths.config, 'utf8')) as Record<string, unknown>;
  config.policy = { envelope_executable: 'deny', max_permissions: 'approval', work_folder_roots: [root] };
  await writeFile(rig.paths.config, YAML.stringify(config));

  const refused: Array<[string, Record<string, unknown>, string, RegExp]> = [
    [
      'exe',
      { agent: { type: 'claude_code', executable: '/bin/sh' } },
      'AGENT_EXECUTABLE_NOT_FOUND',
      /policy\.envelope_executable.*"deny"/,
    ],
    [
      'auto',
      { agent: { type: 'claude_code', permissions: 'autonomous' } },
      'PERMISSIONS_UNSUPPORTED',
      /policy\.max_permissions.*"approval"/,
    ],
    ['outside', { workspace: { work_folder: outside } }, 'WORK_FOLDER_NOT_ALLOWED', /policy\.work_folder_roots/],
    [
      'link-out',
      { workspace: { work_folder: join(root, 'link-out') } },
      'WORK_FOLDER_NOT_ALLOWED',
      /real path .*outside/,
    ],
    [
      'dotdot',
      { workspace: { work_folder: join(root, 'sub', '..', '..', 'outside') } },
      'WORK_FOLDER_NOT_ALLOWED',
      /policy\.work_folder_roots/,
    ],
  ];
  for (const [alias, meta] of refused) rig.handoff(alias, meta);
  // Allowed: the configured executable named again, approval, a folder inside the root.
  rig.chat('inside');
  rig.say('inside', 'hi');
  rig.handoff('inside', {
    workspace: { work_folder: join(root, 'sub') },
    agent: { type: 'claude_code', executable: FAKE_CLAUDE, permissions: 'approval' },
  });
  const host = rig.host();
  await host.start();
  await waitFor(() => failedItems(rig).size === refused.length, 'every thread_failed item', { timeoutMs: 20_000 });
  const items = failedItems(rig);
  for (const [alias, , code, message] of refused) {
    assert.equal(items.get(alias)?.code, code, alias);
    assert.match(items.get(alias)!.message, message, alias);
    assert.equal(rig.envelopeState(alias), 'failed', alias);
    assert.equal((await rig.threadYaml(alias))?.agent.error.code, code);
  }
  await waitFor(() => agentTexts(rig, 'inside').length > 0, 'the allowed thread answered', { timeoutMs: 20_000 });
  const argv = (await rig.records()).filter((r) => r.kind === 'argv');
  assert.equal(argv.length, 1, 'no refused thread started an agent');
  assert.equal(argv[0].cwd, join(await realpath(root), 'sub'), 'the agent runs in the checked real path');
  await waitSnapshot(host, (s) => threadOf(s, 'outside')?.last_error?.code === 'WORK_FOLDER_NOT_ALLOWED', 'snapshot');
  assert.ok(threadOf(host.snapshot(), 'outside')?.last_error?.remediation?.includes('policy.work_folder_roots'));
  // The snapshot carries the policy in force (the dashboard shows it), and it passes the IPC schema.
  assert.deepEqual(host.snapshot().policy, {
    envelope_executable: 'deny',
    max_permissions: 'approval',
    work_folder_roots: [root],
  });
  assert.deepEqual(Snapshot.parse(host.snapshot()).policy, host.snapshot().policy);
});
