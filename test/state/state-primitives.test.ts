/**
 * The state primitives every other part builds on: state-root resolution and mode, atomic YAML writes,
 * validated reads with named errors, alias folder names, and log redaction of secrets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/process';
import { resolveStateRoot, ensureStateRoot, aliasFolderName, StatePaths } from '../../main/core/state/paths';
import { writeYamlAtomic, readYamlFile, formatIssuePath } from '../../main/core/state/yaml-file';
import { IdentityFile, ThreadFile } from '../../main/core/state/schemas';
import { createLogger, registerSecret, redact, type LogRecord } from '../../main/core/log';
import { WorkerError } from '../../main/core/errors';

test('state root: --home wins over BLOBHUB_WORKER_HOME, which wins over ~/.blobhub-worker', () => {
  assert.equal(resolveStateRoot('/tmp/a', { BLOBHUB_WORKER_HOME: '/tmp/b' }), '/tmp/a');
  assert.equal(resolveStateRoot(undefined, { BLOBHUB_WORKER_HOME: '/tmp/b' }), '/tmp/b');
  assert.match(resolveStateRoot(undefined, {}), /\.blobhub-worker$/);
});

test('ensureStateRoot creates the folder 0700 and tightens an existing one', async () => {
  const tmp = await tempDir();
  try {
    const root = join(tmp.path, 'home');
    mkdirSync(root, { mode: 0o755 });
    ensureStateRoot(root);
    assert.equal(statSync(root).mode & 0o777, 0o700);
  } finally {
    await tmp.cleanup();
  }
});

test('writeYamlAtomic writes mode 0600, leaves no temp files, and exclusive create refuses an existing file', async () => {
  const tmp = await tempDir();
  try {
    const file = join(tmp.path, 'sub', 'identity.yaml');
    const value = { user: { user_id: 'usr_1', name: 'A', email: 'a@x', recorded_at: '2026-01-01T00:00:00Z' } };
    await writeYamlAtomic(file, value);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(tmp.path, 'sub')), ['identity.yaml']);
    assert.deepEqual(await readYamlFile(file, IdentityFile), value);
    await assert.rejects(writeYamlAtomic(file, value, { exclusive: true }), { code: 'EEXIST' });
    assert.deepEqual(
      readdirSync(join(tmp.path, 'sub')),
      ['identity.yaml'],
      'a refused exclusive create leaves no temp file',
    );
  } finally {
    await tmp.cleanup();
  }
});

test('readYamlFile: missing → undefined; bad YAML and schema violations → STATE_FILE_INVALID naming file and path', async () => {
  const tmp = await tempDir();
  try {
    assert.equal(await readYamlFile(join(tmp.path, 'nope.yaml'), IdentityFile), undefined);
    const bad = join(tmp.path, 'bad.yaml');
    writeFileSync(bad, 'user: [unclosed\n');
    await assert.rejects(readYamlFile(bad, IdentityFile), (e: unknown) => {
      assert.ok(e instanceof WorkerError);
      assert.equal(e.code, 'STATE_FILE_INVALID');
      assert.match(e.message, /bad\.yaml is not valid YAML/);
      return true;
    });
    const wrong = join(tmp.path, 'thread.yaml');
    writeFileSync(wrong, 'alias: t1\nworkspace: {}\nagent: {state: sleeping}\nupdated_at: x\n');
    await assert.rejects(readYamlFile(wrong, ThreadFile, { invalidCode: 'INVALID_CONFIG' }), (e: unknown) => {
      assert.ok(e instanceof WorkerError);
      assert.equal(e.code, 'INVALID_CONFIG');
      assert.match(e.message, /agent\.state/);
      return true;
    });
  } finally {
    await tmp.cleanup();
  }
});

test('thread.yaml defaults fill in the documented shape', () => {
  const t = ThreadFile.parse({ alias: 't', workspace: {}, agent: { state: 'pending' }, updated_at: 'now' });
  assert.deepEqual(t.cursors, { inbound: null, outbound: { last_emission_id: null, last_item_id: null } });
  assert.deepEqual(t.agent.error, { code: null, message: null, at: null });
  assert.equal(t.open_prompt, null);
});

test('issue paths are formatted as in protocol §2', () => {
  assert.equal(formatIssuePath(['sections', 1, 'session', 'org_id']), 'sections[1].session.org_id');
  assert.equal(formatIssuePath([]), '(root)');
});

test('alias folder names: safe aliases kept, anything else encoded into one folder', () => {
  assert.equal(aliasFolderName('feature-login_1.x'), 'feature-login_1.x');
  for (const alias of ['../etc', 'a/b', '..', 'spaces here', 'ünï']) {
    const name = aliasFolderName(alias);
    assert.ok(!name.includes('/') && name !== '..' && name !== '.', `${alias} → ${name}`);
  }
  assert.notEqual(aliasFolderName('a/b'), aliasFolderName('a_b'));
  const p = new StatePaths('/root');
  assert.equal(p.job('ses_1').threadYaml('t'), '/root/jobs/session_agent_harness-ses_1/threads/t/thread.yaml');
});

test('registered secrets and bhk_ keys never reach a log sink', () => {
  const key = 'bhk_supersecretvalue123';
  registerSecret(key);
  const records: LogRecord[] = [];
  const log = createLogger({ sinks: [(r) => records.push(r)] });
  log.error('x', `failed with ${key}`, { headers: { 'X-API-Key': key }, nested: [{ api_key: 'plain' }] });
  const text = JSON.stringify(records);
  assert.ok(!text.includes(key), text);
  assert.ok(!text.includes('plain'), 'api_key fields are masked whatever their value');
  assert.equal(redact('prefix bhk_another_key_abcdef suffix'), 'prefix bhk_[REDACTED] suffix');
});

test('WorkerError carries the documented exit status and JSON line', () => {
  const e = new WorkerError('WORKER_ALREADY_RUNNING', 'pid 12 holds the lock');
  assert.equal(e.exitStatus, 15);
  assert.deepEqual(Object.keys(e.toJSON()), ['level', 'code', 'message', 'remediation']);
  assert.equal(new WorkerError('AGENT_CRASHED', 'x').exitStatus, 1);
});
