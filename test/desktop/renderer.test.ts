/**
 * The renderer in real headless Chromium (file:// dist/renderer/index.html, strict CSP), driving the REAL
 * router over the REAL core: createWorkerHost on a temp home, the emulator on 127.0.0.1, the fake agents as
 * child processes (test/harness/support.ts rig). Only Electron's IPC transport and the OS ports are
 * stand-ins (harness.ts). Screenshots land in dist/screenshots/ (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startEmulator } from '../../main/emulator/index';
import { createWorkerHost } from '../../main/core/worker';
import { ClaudeSession } from '../../main/core/agents/claude';
import type { AgentPrompt } from '../../main/core/agents/types';
import { tempDir, waitFor } from '../support/process';
import { makeRig, waitSnapshot, type Rig } from '../harness/support';
import { PRELOAD_KEYS, launchBrowser, openRenderer, type PageGlobals, type RendererSession } from './harness';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const T = { timeout: 90_000 };

function assertClean(s: RendererSession): void {
  assert.deepEqual(s.problems, [], 'no console errors, page errors or CSP violations');
}

test('the bridge has exactly the preload shape', T, async (t) => {
  const tmp = await tempDir('bhw-shape-');
  t.after(() => tmp.cleanup());
  const host = createWorkerHost({ home: tmp.path, writeSnapshotFile: false });
  const s = await openRenderer(browser, host);
  t.after(() => s.close());
  await s.goto('#dashboard');
  const keys = await s.page.evaluate(() => Object.keys((globalThis as unknown as PageGlobals).workerApi ?? {}).sort());
  assert.deepEqual(keys, PRELOAD_KEYS);
  const leaked = await s.page.evaluate(() =>
    ['require', 'process', 'ipcRenderer', 'electron'].filter((k) => k in globalThis),
  );
  assert.deepEqual(leaked, []);
  assertClean(s);
});

test(
  'login: banner when signed out, bad key → inline AUTH_INVALID, good key → signed in, other user → confirmation',
  T,
  async (t) => {
    const emu = await startEmulator();
    const tmp = await tempDir('bhw-login-');
    const home = join(tmp.path, 'home');
    const host = createWorkerHost({ home, writeSnapshotFile: false });
    t.after(async () => {
      await host.stop().catch(() => undefined);
      await emu.close();
      await tmp.cleanup();
    });
    const alice = emu.control.createUser({ name: 'Alice Agent', email: 'alice@example.test' });
    const bob = emu.control.createUser({ name: 'Bob Bot', email: 'bob@example.test' });
    await host.start();
    assert.equal(host.snapshot().phase, 'signed_out');

    const s = await openRenderer(browser, host, { viewport: { width: 900, height: 520 } });
    t.after(() => s.close());
    const { page } = s;

    // A worker that cannot start says why and what to do, with a way to sign in.
    await s.goto('#dashboard');
    const banner = page.getByTestId('preflight-banner');
    await banner.waitFor();
    assert.match(await banner.innerText(), /CREDENTIALS_NOT_FOUND/);
    assert.match(await banner.innerText(), /What to do:/);
    await s.screenshot('dashboard-signed-out');
    await banner.getByRole('button', { name: 'Sign in' }).click();
    await waitFor(() => s.ports.windows.some((w) => w.view === 'login'), 'login window requested');

    await page.setViewportSize({ width: 460, height: 560 });
    await s.goto('#login');
    const url = page.getByLabel('API URL');
    const key = page.getByLabel('API key');
    assert.equal(await url.inputValue(), 'https://api.blobhub.io/v1');
    assert.equal(await key.getAttribute('type'), 'password');
    await s.screenshot('login');

    // The sandbox slot answers its named "not available" error inline.
    await page.getByRole('button', { name: 'Try a local sandbox' }).click();
    await waitFor(
      async () => /SANDBOX_NOT_AVAILABLE/.test(await page.getByTestId('login-error').innerText()),
      'sandbox error',
    );

    await url.fill(emu.apiUrl);
    await key.fill('bhk_not_a_real_key_0000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitFor(
      async () => /AUTH_INVALID/.test(await page.getByTestId('login-error').innerText()),
      'inline AUTH_INVALID',
    );
    assert.equal(await key.getAttribute('aria-invalid'), 'true');
    await s.screenshot('login-auth-invalid');

    await key.fill(alice.api_key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('login-success').getByText('Alice Agent').waitFor();
    await waitFor(() => s.ports.closed.length === 1, 'the login window closes itself');
    assert.deepEqual(s.ports.windows.at(-1), { view: 'dashboard' }, 'and hands over to the dashboard');
    await waitSnapshot(
      host,
      (x) => x.phase !== 'signed_out' && x.phase !== 'starting' && x.phase !== 'stopped',
      'worker restarted under the new key',
    );
    assert.ok(!(await page.content()).includes(alice.api_key), 'the key is gone from the page');

    // A fresh home has no sections yet: the dashboard shows INVALID_CONFIG with a way to fix it.
    await waitSnapshot(host, (x) => x.preflight_error?.code === 'INVALID_CONFIG', 'INVALID_CONFIG after sign-in');
    await page.setViewportSize({ width: 900, height: 520 });
    await s.goto('#dashboard');
    const configBanner = page.getByTestId('preflight-banner');
    await configBanner.getByText('INVALID_CONFIG').waitFor();
    assert.match(await configBanner.innerText(), /Fix config\.yaml/);
    await s.screenshot('dashboard-preflight-failed');
    await configBanner.getByRole('button', { name: 'Open config.yaml' }).click();
    await waitFor(() => s.ports.opened.includes(join(home, 'config.yaml')), 'config.yaml opened');
    await page.setViewportSize({ width: 460, height: 560 });

    // Another user's key: confirm first, showing recorded vs new.
    await s.goto('#login');
    await page.reload();
    await page.getByLabel('API URL').fill(emu.apiUrl);
    await page.getByLabel('API key').fill(bob.api_key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const confirm = page.getByTestId('identity-confirm');
    await confirm.waitFor();
    assert.match(await page.getByTestId('recorded-user').innerText(), new RegExp(alice.user_id));
    assert.match(await page.getByTestId('new-user').innerText(), new RegExp(bob.user_id));
    await s.screenshot('login-identity-change');
    const before = await readFile(join(home, 'identity.yaml'), 'utf8');
    assert.match(before, new RegExp(alice.user_id), 'nothing written before confirming');
    await confirm.getByRole('button', { name: /Switch to Bob Bot/ }).click();
    await page.getByTestId('login-success').getByText('Bob Bot').waitFor();
    assert.match(await readFile(join(home, 'identity.yaml'), 'utf8'), new RegExp(bob.user_id));
    assertClean(s);
  },
);

test(
  'dashboard: live state, Reset on a failed thread (pending → active on the server), handoff editor',
  T,
  async (t) => {
    const rig = await makeRig(t, { realtime: true });
    const missing = join(rig.workFolder, 'not-yet');
    rig.chat('broken');
    rig.handoff('broken', { workspace: { work_folder: missing } });
    const host = rig.host({ writeSnapshotFile: false });
    await host.start();
    const s = await openRenderer(browser, host);
    t.after(() => s.close());
    const { page } = s;
    await s.goto('#dashboard');

    const row = (alias: string) => page.locator(`tr[data-thread="${alias}"]`);
    await page.locator('tr[data-thread="broken"][data-state="failed"]').waitFor({ timeout: 15_000 });
    assert.match(await page.locator('tr[data-thread="broken"] + tr').innerText(), /WORK_FOLDER_NOT_FOUND/);
    assert.equal(await row('broken').getByRole('button', { name: 'Reset to pending' }).count(), 1);
    assert.match(await page.getByTestId('identity').innerText(), /Worker/);
    assert.match(await page.getByTestId('agents').innerText(), /\/4 busy/);

    // Live: a new handoff appears without a reload.
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobals).__noReload = true;
    });
    rig.chat('job');
    rig.say('job', 'hello from the dashboard test');
    rig.handoff('job');
    await page.locator('tr[data-thread="job"][data-state^="active"]').waitFor({ timeout: 15_000 });
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).__noReload),
      true,
      'no reload happened',
    );
    await waitSnapshot(
      host,
      (x) => x.sections[0]?.threads.find((th) => th.alias === 'job')?.state === 'active_idle',
      'job idle',
      15_000,
    );
    await page.locator('tr[data-thread="job"][data-state="active_idle"]').waitFor();
    assert.equal(
      await row('job').getByRole('button', { name: 'Reset to pending' }).count(),
      0,
      'no reset for an active thread',
    );
    // Transient server trouble shows in the ribbon (retried by the core, no state change).
    rig.emu.control.addFault({ command: '*', kind: 'status', status: 503, times: 3 });
    rig.say('job', 'one more message');
    await page.getByTestId('ribbon').getByText('API_TRANSIENT_ERROR').first().waitFor({ timeout: 15_000 });
    await s.screenshot('dashboard');

    // Reset to pending: the envelope goes pending, then the worker activates it again.
    const states: unknown[] = [];
    const stopWatching = rig.emu.onEvent(() => {
      const st = rig.envelopeState('broken');
      if (states[states.length - 1] !== st) states.push(st);
    });
    t.after(stopWatching);
    await mkdir(missing, { recursive: true });
    await row('broken').getByRole('button', { name: 'Reset to pending' }).click();
    await waitFor(() => rig.envelopeState('broken') === 'active', 'broken re-activated on the server', {
      timeoutMs: 15_000,
    });
    assert.deepEqual(states.slice(states.indexOf('pending')), ['pending', 'active']);
    await page.locator('tr[data-thread="broken"][data-state^="active"]').waitFor();

    // The handoff editor writes the envelope (other keys kept).
    await row('job').getByRole('button', { name: 'Edit handoff' }).click();
    const editor = page.getByTestId('handoff-editor');
    await editor.getByLabel('Model').fill('opus');
    await editor.getByLabel('Effort').fill('high');
    await s.screenshot('handoff-editor');
    await editor.getByRole('button', { name: 'Save to envelope' }).click();
    await editor.getByText('Saved.').waitFor();
    const meta = (
      rig.emu.control.getObject(rig.ref, 'job')?.value as unknown as {
        thread: { metadata: Record<string, Record<string, unknown>> };
      }
    ).thread.metadata;
    assert.equal(meta.agent?.model, 'opus');
    assert.equal(meta.agent?.effort, 'high');
    assert.equal(meta.agent?.type, 'claude_code');
    assert.equal(meta.workspace?.work_folder, rig.workFolder);
    assert.equal(meta.instance?.state, 'active');

    // Start at login: the checkbox reflects and drives the OS port.
    await page.getByLabel('Start at login').check();
    await waitFor(() => s.ports.startAtLogin, 'start at login enabled');

    // Open folder / log go through the port with paths from the core.
    await row('job').getByRole('button', { name: 'Open thread.log' }).click();
    await waitFor(() => s.ports.opened.some((p) => p.endsWith('thread.log')), 'thread.log opened');

    // Detach frees the session (the worker object is deleted); Re-attach runs the attach algorithm again.
    const sectionBox = page.locator('section.section');
    await sectionBox.getByRole('button', { name: 'Detach' }).click();
    await sectionBox.getByTestId('attachment').getByText('detached').waitFor({ timeout: 15_000 });
    await waitFor(() => rig.emu.control.getObject(rig.ref, 'worker') === null, 'worker object deleted');
    await sectionBox.getByRole('button', { name: 'Re-attach' }).click();
    await sectionBox.getByTestId('attachment').getByText('attached').waitFor({ timeout: 15_000 });
    await waitFor(() => rig.emu.control.getObject(rig.ref, 'worker') !== null, 'worker object back');
    assertClean(s);

    const dark = await openRenderer(browser, host, { colorScheme: 'dark' });
    t.after(() => dark.close());
    await dark.goto('#dashboard');
    await dark.page.locator('tr[data-thread="job"]').waitFor();
    await dark.screenshot('dashboard-dark');
    assertClean(dark);
  },
);

interface Stdin {
  type?: string;
  response?: {
    response?: {
      behavior?: string;
      updatedInput?: { answers?: Record<string, string>; response?: string };
      message?: string;
    };
  };
}

/**
 * A rig with one handed-off thread `ap` running the fake `claude` with these scenario markers, the worker
 * started (thread active), and a prompt-sized renderer over it. Plus what the fake agent answered on its stdin
 * (control responses) and the thread's `pending_prompt_resolved` items on the emulator.
 */
async function promptRig(
  t: Parameters<typeof makeRig>[0],
  markers: Record<string, unknown>,
  hostOptions: Parameters<Rig['host']>[0] = {},
) {
  const rig = await makeRig(t, { realtime: true, scenario: { markers } });
  rig.chat('ap');
  rig.handoff('ap');
  const host = rig.host({ writeSnapshotFile: false, ...hostOptions });
  await host.start();
  await waitSnapshot(
    host,
    (x) => x.sections[0]?.threads.some((th) => th.alias === 'ap' && th.state.startsWith('active')),
    'ap active',
    15_000,
  );
  const s = await openRenderer(browser, host, { viewport: { width: 600, height: 640 } });
  t.after(() => s.close());
  const controlResponses = async (): Promise<Stdin[]> =>
    (await rig.records())
      .filter((r) => r.kind === 'stdin' && typeof r.line === 'string')
      .map((r) => JSON.parse(r.line as string) as Stdin)
      .filter((m) => m.type === 'control_response' && m.response?.response?.behavior !== undefined);
  const resolved = () => rig.items('ap').filter((i) => i.metadata?.type === 'pending_prompt_resolved');
  return { rig, host, s, page: s.page, controlResponses, resolved };
}

test(
  'prompt window: an approval and a two-question ask_user_question reach the fake agent (answered via desktop)',
  T,
  async (t) => {
    // Claude Code's AskUserQuestion input shape (the adapter maps multiSelect → multi_select).
    const questions = [
      {
        question: 'Which database should we use?',
        header: 'Database',
        multiSelect: false,
        options: [{ label: 'Postgres', description: 'Relational, with JSONB' }, { label: 'SQLite' }],
      },
      {
        question: 'Which features should ship first?',
        header: 'Features',
        multiSelect: true,
        options: [{ label: 'Auth' }, { label: 'Search' }, { label: 'Billing' }],
      },
    ];
    const { rig, host, s, page, controlResponses, resolved } = await promptRig(t, {
      APPROVE_ME: {
        steps: [
          { tool: { name: 'Bash', input: { command: 'rm -rf build', description: 'Clean the build folder' } } },
          { text: 'cleaned' },
        ],
      },
      ASK_ME: { steps: [{ ask: { questions } }, { text: 'noted' }] },
    });

    // Approval: the dashboard lists it, "Answer…" asks for the prompt window, the window allows it.
    rig.say('ap', 'APPROVE_ME please');
    await waitSnapshot(host, (x) => x.prompts.length === 1, 'approval prompt open', 15_000);
    const approvalId = host.snapshot().prompts[0].id;
    await s.goto('#dashboard');
    await page.getByTestId('prompts').getByRole('button', { name: 'Answer…' }).click();
    await waitFor(
      () => s.ports.windows.some((w) => w.view === 'prompt' && w.promptId === approvalId),
      'prompt window requested',
    );
    await s.goto(`#prompt/${encodeURIComponent(approvalId)}`);
    await page.getByRole('heading', { name: 'Approval needed' }).waitFor();
    assert.match(await page.locator('pre.tool-input').innerText(), /rm -rf build/);
    await s.screenshot('prompt-approval');
    await page.getByTestId('allow-once').click();
    await page.getByTestId('prompt-sent').waitFor();
    await waitFor(async () => (await controlResponses()).length === 1, 'approval reached the agent');
    assert.equal((await controlResponses())[0].response!.response!.behavior, 'allow');
    await waitFor(async () => (await rig.records()).some((r) => r.kind === 'tool_ran'), 'the tool ran');
    await waitFor(() => resolved().length === 1, 'pending_prompt_resolved posted');
    assert.equal(resolved()[0].metadata!.answered_via, 'desktop');
    assert.deepEqual(resolved()[0].metadata!.answer, { kind: 'approval', decision: 'allow', scope: 'once' });

    // Two questions: a radio, checkboxes plus "Other" text; answers keyed by the full question text.
    await waitSnapshot(
      host,
      (x) => x.prompts.length === 0 && x.sections[0]?.threads[0]?.state === 'active_idle',
      'turn over',
      15_000,
    );
    rig.say('ap', 'ASK_ME now');
    await waitSnapshot(host, (x) => x.prompts.length === 1, 'question prompt open', 15_000);
    const askId = host.snapshot().prompts[0].id;
    await page.setViewportSize({ width: 600, height: 760 });
    await s.goto(`#prompt/${encodeURIComponent(askId)}`);
    const q1 = page.getByRole('group', { name: /Which database should we use\?/ });
    const q2 = page.getByRole('group', { name: /Which features should ship first\?/ });
    assert.equal(await q1.getByRole('radio').count(), 3, 'two options + Other');
    assert.equal(await q2.getByRole('checkbox').count(), 4, 'three options + Other');
    // Sending with a question unanswered is refused inline.
    await q1.getByLabel('Postgres').check();
    await page.getByRole('button', { name: 'Send answers' }).click();
    assert.match(await page.getByTestId('prompt-error').innerText(), /Which features should ship first\?/);
    await q2.getByLabel('Auth').check();
    await q2.getByLabel('Billing').check();
    await q2.getByLabel(/Other answer to/).fill('Audit log');
    await s.screenshot('prompt-questions');
    await page.getByRole('button', { name: 'Send answers' }).click();
    await page.getByTestId('prompt-sent').waitFor();
    const expected = {
      'Which database should we use?': 'Postgres',
      'Which features should ship first?': 'Auth, Billing, Audit log',
    };
    await waitFor(async () => (await controlResponses()).length === 2, 'answers reached the agent');
    assert.deepEqual((await controlResponses())[1].response!.response!.updatedInput!.answers, expected);
    await waitFor(() => resolved().length === 2, 'second pending_prompt_resolved');
    assert.equal(resolved()[1].metadata!.answered_via, 'desktop');
    assert.deepEqual(resolved()[1].metadata!.answer, { kind: 'ask_user_question', answers: expected });

    // A prompt that is gone says so instead of offering a dead form.
    await s.goto(`#prompt/${encodeURIComponent(approvalId)}`);
    await page.getByTestId('prompt-gone').waitFor();
    assertClean(s);
  },
);

/**
 * No agent flow produces a `text` prompt (protocol §9.1) today: the Claude adapter turns AskUserQuestion into
 * `ask_user_question` and every other tool into `approval`; Codex's requestUserInput is `ask_user_question` too.
 * The path that does exist from the adapter's prompt on is tested here with the real Claude adapter and the fake
 * `claude`, except that this subclass opens a single option-less AskUserQuestion as a `text` prompt. The answer
 * then goes through the adapter's own text branch (allow, `updatedInput.response` = the text).
 */
class TextPromptClaude extends ClaudeSession {
  protected override openPrompt(prompt: AgentPrompt, wire: unknown): void {
    const only = prompt.kind === 'ask_user_question' && prompt.questions.length === 1 ? prompt.questions[0] : null;
    const text: AgentPrompt | null =
      only && only.options.length === 0 ? { id: prompt.id, kind: 'text', question: only.question } : null;
    super.openPrompt(text ?? prompt, wire as never);
  }
}

test(
  'prompt window: a text prompt refuses an empty answer, then the typed text reaches the fake agent (answered via desktop)',
  T,
  async (t) => {
    const question = 'What should the release be called?';
    const { rig, host, s, page, controlResponses, resolved } = await promptRig(
      t,
      { NAME_IT: { steps: [{ ask: { questions: [{ question, options: [] }] } }, { text: 'named' }] } },
      {
        agentFactory: (type, options) =>
          type === 'claude_code' ? new TextPromptClaude(options) : assert.fail(`unexpected agent ${type}`),
      },
    );

    rig.say('ap', 'NAME_IT please');
    await waitSnapshot(host, (x) => x.prompts.length === 1, 'text prompt open', 15_000);
    const prompt = host.snapshot().prompts[0];
    assert.equal(prompt.kind, 'text');
    assert.equal(prompt.payload.question, question);
    const pending = () => rig.items('ap').filter((i) => i.metadata?.type === 'pending_prompt');
    await waitFor(() => pending().length === 1, 'pending_prompt posted');
    assert.deepEqual(pending()[0].metadata!.prompt, { id: prompt.id, kind: 'text', question });
    assert.match(pending()[0].content[0].text!, /Reply with free text\./);

    await s.goto(`#prompt/${encodeURIComponent(prompt.id)}`);
    await page.getByRole('heading', { name: question }).waitFor();
    const answer = page.getByLabel('Answer');
    const send = page.getByRole('button', { name: 'Send' });

    // Empty, then blank: refused inline with a named message; nothing reaches the agent, the prompt stays open.
    for (const blank of ['', '  \n  ']) {
      await answer.fill(blank);
      await send.click();
      await waitFor(
        async () => /Write an answer first/.test(await page.getByTestId('prompt-error').innerText()),
        `inline error for ${JSON.stringify(blank)}`,
      );
      assert.equal(await answer.getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByTestId('prompt-sent').count(), 0);
    }
    assert.equal((await controlResponses()).length, 0, 'no answer reached the agent');
    assert.deepEqual(
      host.snapshot().prompts.map((p) => p.id),
      [prompt.id],
      'the prompt is still open',
    );
    assert.equal(resolved().length, 0);

    // Typing clears the error; Send hands the text to the agent.
    const text = 'Aurora\n(after the northern lights)';
    await answer.fill(text);
    assert.equal(await page.getByTestId('prompt-error').innerText(), '');
    assert.equal(await answer.getAttribute('aria-invalid'), null);
    await s.screenshot('prompt-text');
    await send.click();
    await page.getByTestId('prompt-sent').waitFor();
    await waitFor(async () => (await controlResponses()).length === 1, 'the answer reached the agent');
    const received = (await controlResponses())[0].response!.response!;
    assert.equal(received.behavior, 'allow');
    assert.equal(received.updatedInput?.response, text);
    await waitFor(() => resolved().length === 1, 'pending_prompt_resolved posted');
    assert.equal(resolved()[0].metadata!.prompt_id, prompt.id);
    assert.equal(resolved()[0].metadata!.resolution, 'answered');
    assert.equal(resolved()[0].metadata!.answered_via, 'desktop');
    assert.deepEqual(resolved()[0].metadata!.answer, { kind: 'text', text });
    await waitFor(
      () => rig.items('ap').some((i) => i.metadata?.type === 'text' && i.content[0]?.text === 'named'),
      'the agent went on',
    );
    assertClean(s);
  },
);
