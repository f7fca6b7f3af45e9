/**
 * The prompt window's scopes, diffs and plans, and the Stop buttons, in real headless Chromium over the REAL
 * core, the emulator on 127.0.0.1 and the fake agents (test/harness/support.ts rig). Screenshots:
 * prompt-scopes.png, prompt-diff.png, prompt-plan.png (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { waitFor } from '../support/process';
import { makeRig, waitSnapshot } from '../harness/support';
import { launchBrowser, openRenderer } from './harness';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const T = { timeout: 120_000 };
const meta = (i: { metadata?: Record<string, unknown> | null }): Record<string, any> => i.metadata ?? {};

const SCENARIO = {
  markers: {
    TOUCH: {
      steps: [
        { tool: { name: 'Bash', input: { command: 'npm run build', description: 'Build the project' } } },
        { text: 'built' },
      ],
    },
    EDIT: {
      steps: [
        {
          tool: {
            name: 'Edit',
            input: {
              file_path: 'src/server.ts',
              old_string: "const port = 3000;\nconst host = 'localhost';",
              new_string: "const port = Number(process.env.PORT ?? 3000);\nconst host = process.env.HOST ?? '0.0.0.0';",
            },
          },
        },
        { text: 'edited' },
      ],
    },
    PLAN: {
      steps: [
        { enterPlanMode: true },
        {
          plan: '# Add a health check\n\n1. Add `GET /health` in `src/server.ts` returning `{ ok: true }`.\n2. Cover it in `test/server.test.ts`.\n3. Document it in the README.\n\n<script>alert(1)</script> **Risk:** low.',
        },
        { text: 'planned' },
      ],
    },
    SLOW: { steps: [{ text: 'working…' }, { sleep: 20_000 }, { text: 'never' }] },
    PATCH: { steps: [{ patch: {} }, { text: 'patched' }] },
  },
};

async function setup(t: Parameters<typeof makeRig>[0], alias = 'ap', agent = 'claude_code') {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  await writeFile(join(rig.workFolder, 'src.txt'), '');
  rig.handoff(alias, { agent: { type: agent } });
  const host = rig.host({ writeSnapshotFile: false });
  await host.start();
  await waitSnapshot(
    host,
    (x) => x.sections[0]?.threads.some((th) => th.alias === alias && th.state.startsWith('active')),
    'active',
    15_000,
  );
  const s = await openRenderer(browser, host, { viewport: { width: 720, height: 640 } });
  t.after(() => s.close());
  t.after(() => host.stop());
  return { rig, host, s, page: s.page };
}

test(
  'approval scopes: Allow for this session (key A) grants the rule; the dashboard lists it and revokes it',
  T,
  async (t) => {
    const { rig, host, s, page } = await setup(t);
    rig.say('ap', 'TOUCH please');
    await waitSnapshot(host, (x) => x.prompts.length === 1, 'prompt open', 15_000);
    const id = host.snapshot().prompts[0].id;
    await s.goto(`#prompt/${encodeURIComponent(id)}`);
    await page.getByTestId('allow-session').waitFor();
    assert.match(await page.getByTestId('session-rules').innerText(), /Bash\(npm run build\)/);
    assert.deepEqual(await page.locator('.buttons button').allInnerTexts(), [
      'Allow once Y',
      'Allow for this session A',
      'Deny N',
    ]);
    await s.screenshot('prompt-scopes');
    await page.keyboard.press('a');
    await page.getByTestId('prompt-sent').waitFor();
    await waitFor(() => rig.items('ap').some((i) => meta(i).type === 'pending_prompt_resolved'), 'resolved');
    const resolved = meta(rig.items('ap').find((i) => meta(i).type === 'pending_prompt_resolved')!);
    assert.equal(resolved.answered_via, 'desktop');
    assert.deepEqual(resolved.answer, {
      kind: 'approval',
      decision: 'allow',
      scope: 'session',
      rules: ['Bash(npm run build)'],
    });

    await s.goto('#dashboard');
    const granted = page.getByTestId('granted-rules');
    await granted.waitFor();
    assert.match(await granted.innerText(), /revoking takes effect the next time the agent starts/);
    assert.match(await granted.innerText(), /Bash\(npm run build\)/);
    await granted.getByRole('button', { name: 'Revoke' }).click();
    await waitSnapshot(host, (x) => x.sections[0].threads[0].granted_rules.length === 0, 'revoked');
    await waitFor(async () => (await rig.threadYaml('ap'))?.agent.granted.length === 0, 'revoked in thread.yaml');
    assert.deepEqual(s.problems, []);
  },
);

test('a Claude Edit prompt shows the diff against the file on disk, coloured and numbered', T, async (t) => {
  const { rig, host, s, page } = await setup(t);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(rig.workFolder, 'src'), { recursive: true });
  await writeFile(
    join(rig.workFolder, 'src/server.ts'),
    "import { createServer } from 'node:http';\n\nconst port = 3000;\nconst host = 'localhost';\n\ncreateServer(handler).listen(port, host);\n",
  );
  rig.say('ap', 'EDIT please');
  await waitSnapshot(host, (x) => x.prompts.length === 1, 'prompt open', 15_000);
  const id = host.snapshot().prompts[0].id;
  await s.goto(`#prompt/${encodeURIComponent(id)}`);
  await page.getByTestId('diff').waitFor();
  assert.equal(await page.getByTestId('diff-summary').innerText(), '+2 −2 src/server.ts');
  assert.equal(await page.locator('tr.diff-add').count(), 2);
  assert.equal(await page.locator('tr.diff-del').count(), 2);
  // Line numbers come from the hunk: the removed lines were 3 and 4 of the old file.
  assert.deepEqual(await page.locator('tr.diff-del td.ln:first-child').allInnerTexts(), ['3', '4']);
  assert.deepEqual(await page.locator('tr.diff-add td.ln:nth-child(2)').allInnerTexts(), ['3', '4']);
  // Edits have no addRules suggestion in Claude Code 2.1.329: no session button.
  assert.equal(await page.getByTestId('allow-session').count(), 0);
  await s.screenshot('prompt-diff');
  await page.getByTestId('allow-once').click();
  await page.getByTestId('prompt-sent').waitFor();
  assert.deepEqual(s.problems, []);
});

test(
  'a plan prompt renders the markdown (no raw HTML); Keep planning sends the message, Approve approves',
  T,
  async (t) => {
    const { rig, host, s, page } = await setup(t);
    rig.say('ap', 'PLAN it');
    await waitSnapshot(host, (x) => x.prompts.length === 1 && x.prompts[0].kind === 'plan', 'plan prompt', 15_000);
    const id = host.snapshot().prompts[0].id;
    await s.goto(`#prompt/${encodeURIComponent(id)}`);
    const plan = page.getByTestId('plan');
    await plan.waitFor();
    assert.equal(await plan.locator('h1').innerText(), 'Add a health check');
    assert.equal(await plan.locator('ol li').count(), 3);
    assert.equal(await plan.locator('code').first().innerText(), 'GET /health');
    assert.equal(await plan.locator('script').count(), 0, 'raw HTML is not parsed');
    assert.match(await plan.innerText(), /<script>alert\(1\)<\/script>/);
    await s.screenshot('prompt-plan');
    await page.locator('textarea').fill('Also add a readiness probe');
    await page.getByTestId('keep-planning').click();
    await page.getByTestId('prompt-sent').waitFor();
    await waitFor(async () => (await rig.records()).some((r) => r.kind === 'plan_answered'), 'answered');
    const answered = (await rig.records()).find((r) => r.kind === 'plan_answered')!;
    assert.equal(answered.behavior, 'deny');
    assert.equal(answered.message, 'Also add a readiness probe');
    assert.deepEqual(s.problems, []);
  },
);

test(
  'a Codex fileChange prompt shows the item diff; the dashboard Stop and the prompt window Stop end the turn',
  T,
  async (t) => {
    const { rig, host, s, page } = await setup(t, 'cx', 'codex');
    rig.say('cx', 'PATCH please');
    await waitSnapshot(host, (x) => x.prompts.length === 1, 'prompt open', 15_000);
    const id = host.snapshot().prompts[0].id;
    await s.goto(`#prompt/${encodeURIComponent(id)}`);
    await page.getByTestId('diff').waitFor();
    assert.equal(await page.getByTestId('diff-summary').innerText(), '+1 −0 patched.txt');
    assert.equal(await page.locator('tr.diff-add td.code').innerText(), 'patched line');
    await s.screenshot('prompt-diff-codex');
    // Stop from the prompt window: the prompt is cancelled (interrupted) and the turn ends interrupted.
    await page.getByTestId('stop-turn').click();
    await page.getByTestId('prompt-stopped').waitFor();
    await waitFor(() => rig.items('cx').some((i) => meta(i).type === 'turn_end'), 'turn ended');
    assert.equal(meta(rig.items('cx').find((i) => meta(i).type === 'turn_end')!).interrupted, true);
    const cancelled = rig.items('cx').find((i) => meta(i).type === 'pending_prompt_resolved')!;
    assert.equal(meta(cancelled).reason, 'interrupted');

    // Stop from the dashboard row while a turn runs.
    rig.say('cx', 'SLOW now');
    await waitSnapshot(host, (x) => x.sections[0].threads[0].state === 'active_turn', 'turn running', 15_000);
    await s.goto('#dashboard');
    await page.getByRole('button', { name: 'Stop turn' }).click();
    await waitFor(() => rig.items('cx').filter((i) => meta(i).type === 'turn_end').length === 2, 'second turn ended');
    assert.equal(meta(rig.items('cx').filter((i) => meta(i).type === 'turn_end')[1]).interrupted, true);
    assert.equal((await rig.records()).filter((r) => r.kind === 'argv').length, 1, 'the agent process stayed');
    assert.deepEqual(s.problems, []);
  },
);
