/**
 * Preflight step 5 through the real CLI: every INVALID_CONFIG case of protocol §2 names the offending path,
 * then UNKNOWN_JOB_TYPE, MISSING_SESSION_KEYS, DUPLICATE_SECTION_TARGET; each exits with its status, releases
 * the lock and touches nothing on the server but `/users/me`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runCli, spawnCli, waitExit, waitFor } from '../support/process';
import { CONFIG_TEMPLATE, KNOWN_KEYS, parseConfigText } from '../../main/core/state/config';
import { ERROR_CODES } from '../../main/core/errors';
import { cliWorld, expectCode, ready, sectionConfig, writeConfig, type CliWorld } from './helpers';

const S = (n: string, sessionId: string) => ({
  name: n,
  org_id: 'org_1',
  blob_id: 'blb_1',
  revision_id: 'rev_1',
  session_id: sessionId,
});
const ONE = sectionConfig([S('a', 'ses_a')]);

async function expectConfigError(
  w: CliWorld,
  text: string | null,
  code: string,
  status: number,
  pattern: RegExp,
): Promise<void> {
  if (text !== null) await writeConfig(w.home, text);
  w.emu.control.resetCounters();
  const line = expectCode(await runCli(['start'], { home: w.home }), code, status);
  assert.match(line.message, pattern, `${code}: ${line.message}`);
  assert.ok(!existsSync(join(w.home, 'instance.yaml')), 'lock released');
  const c = w.emu.control.counters();
  assert.deepEqual(Object.keys(c.byCommand), ['users/me']);
  assert.equal(c.mutating, 0);
}

test('INVALID_CONFIG (16): each case names the offending path', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const cases: Array<[string, RegExp]> = [
    [`polling:\n  interval_idle_ms: fast\n${ONE}`, /polling\.interval_idle_ms/],
    [`polling:\n  backoff_max_ms: -5\n${ONE}`, /polling\.backoff_max_ms/],
    [`concurrency:\n  max_agents: 0\n${ONE}`, /concurrency\.max_agents/],
    [`concurrency:\n  max_agents: 1.5\n${ONE}`, /concurrency\.max_agents/],
    [`concurrency: 4\n${ONE}`, /concurrency/],
    ['polling:\n  interval_idle_ms: 100\n', /sections/],
    ['sections: []\n', /sections: at least one section/],
    ['sections: nope\n', /sections/],
    [`agents:\n  claude_code:\n    permissions: yolo\n${ONE}`, /agents\.claude_code\.permissions/],
    [`agents:\n  gemini:\n    permissions: approval\n${ONE}`, /agents\b.*gemini/],
    [`agents:\n  codex:\n    model: 7\n${ONE}`, /agents\.codex\.model/],
    [
      'sections:\n  - job_type: session_agent_harness\n    session:\n      org_id: o\n      blob_id: b\n      revision_id: r\n      session_id: s\n' +
        '  - job_type: session_agent_harness\n    session:\n      org_id: 12\n      blob_id: b\n      revision_id: r\n      session_id: s2\n',
      /sections\[1\]\.session\.org_id/,
    ],
    ['sections:\n  - name: [1, 2]\n    job_type: session_agent_harness\n', /sections\[0\]\.name/],
    ['sections:\n  - a: [unclosed\n', /not valid YAML/],
    ['- just\n- a list\n', /top level must be a mapping/],
    ['', /top level must be a mapping/],
  ];
  for (const [text, pattern] of cases) await expectConfigError(w, text, 'INVALID_CONFIG', 16, pattern);
});

test('INVALID_CONFIG (16): config.yaml missing or unreadable', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  const path = join(w.home, 'config.yaml');
  await rm(path);
  await expectConfigError(w, null, 'INVALID_CONFIG', 16, /config\.yaml is missing/);
  await mkdir(path); // a folder where the file should be: unreadable for root too
  await expectConfigError(w, null, 'INVALID_CONFIG', 16, /config\.yaml cannot be read \(EISDIR\)/);
});

test('UNKNOWN_JOB_TYPE (17), MISSING_SESSION_KEYS (18), DUPLICATE_SECTION_TARGET (19)', async (t) => {
  const w = await cliWorld(t);
  await ready(w);
  await expectConfigError(
    w,
    ONE.replace('session_agent_harness', 'cron_job'),
    'UNKNOWN_JOB_TYPE',
    17,
    /sections\[0\]\.job_type is "cron_job"/,
  );
  await expectConfigError(
    w,
    'sections:\n  - name: x\n    session: {}\n',
    'UNKNOWN_JOB_TYPE',
    17,
    /sections\[0\]\.job_type is missing/,
  );
  const { blob_id: _omit, ...noBlob } = S('b', 'ses_b');
  await expectConfigError(
    w,
    sectionConfig([S('a', 'ses_a'), noBlob]),
    'MISSING_SESSION_KEYS',
    18,
    /sections\[1\]\.session\.blob_id/,
  );
  await expectConfigError(
    w,
    'sections:\n  - job_type: session_agent_harness\n',
    'MISSING_SESSION_KEYS',
    18,
    /sections\[0\]\.session\.org_id/,
  );
  await expectConfigError(
    w,
    sectionConfig([S('a', 'ses_a'), S('b', 'ses_b'), S('c', 'ses_a')]),
    'DUPLICATE_SECTION_TARGET',
    19,
    /sections\[0\] and sections\[2\]/,
  );
});

test('unknown keys are ignored with a warning log line; start proceeds', async (t) => {
  const w = await cliWorld(t);
  await ready(w, `colour: blue\npolling:\n  interval_idle_ms: 100\n  turbo: true\n${sectionConfig([S('a', 'ses_a')])}`);
  const child = spawnCli(['start'], { home: w.home });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = waitExit(child);
  await waitFor(() => stderr.includes('"event":"started"'), 'started', { timeoutMs: 15_000 });
  const warnings = stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.event === 'config_warning');
  assert.deepEqual(warnings.map((r) => r.msg).sort(), [
    'unknown key ignored: colour',
    'unknown key ignored: polling.turbo',
  ]);
  assert.ok(warnings.every((r) => r.level === 'warning'));
  child.kill('SIGTERM');
  assert.equal((await exited).status, 0);
});

test('the Configuration reference exists in README.md, documents every known key, and the template and INVALID_CONFIG point to it', async () => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('\n## Configuration\n');
  assert.ok(at >= 0, 'README.md has a "## Configuration" section');
  const section = readme.slice(at + 1, readme.indexOf('\n## ', at + 1));
  for (const [block, keys] of Object.entries(KNOWN_KEYS)) {
    for (const key of keys)
      assert.ok(section.includes(key), `README → Configuration mentions ${block ? `${block}.` : ''}${key}`);
  }
  for (const fact of [
    'one pool shared by all sections',
    'Reload config',
    'Unknown keys',
    'integer > 0',
    '`1500`',
    '`3000`',
    '`30000`',
    '`4`',
    '`approval`',
  ]) {
    assert.ok(section.includes(fact), `README → Configuration says ${fact}`);
  }
  assert.match(CONFIG_TEMPLATE, /README\.md, section "Configuration" \(README\.md#configuration\)/);
  assert.match(
    ERROR_CODES.INVALID_CONFIG.remediation,
    /README\.md, section "Configuration" \(README\.md#configuration\)/,
  );
  // The template itself is a valid config once a section is added, with the documented defaults.
  const parsed = parseConfigText(CONFIG_TEMPLATE.replace('sections: []', sectionConfig([S('a', 'ses_a')]).trimEnd()));
  assert.deepEqual(parsed.config.polling, { interval_idle_ms: 1500, interval_active_ms: 3000, backoff_max_ms: 30000 });
  assert.equal(parsed.config.concurrency.max_agents, 4);
});
