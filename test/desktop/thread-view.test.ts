/**
 * The thread view and the notifications in real headless Chromium over the REAL router and the REAL core
 * (createWorkerHost on a temp home, the emulator on 127.0.0.1, the fake `claude` as a child process). The
 * notification centre is the app's own (main/desktop/notify-policy.ts) fed by the host's snapshots; only the
 * OS toast is a recorder, and a click runs the notification's command through the router as the app does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import type { Snapshot } from '../../main/core/snapshot';
import { createNotificationCenter, type DesktopNotification } from '../../main/desktop/notify-policy';
import { routeHash } from '../../main/desktop/security';
import { runCommand } from '../../main/ipc/router';
import type { WindowRequest } from '../../main/ipc/contract';
import { waitFor } from '../support/process';
import { makeRig, waitSnapshot } from '../harness/support';
import { launchBrowser, openRenderer, type RendererSession } from './harness';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const T = { timeout: 150_000 };

/** The scroll box of the transcript, as the page sees it (the node tsconfig has no DOM lib). */
interface Scrollable {
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
}

function assertClean(s: RendererSession): void {
  assert.deepEqual(s.problems, [], 'no console errors, page errors or CSP violations');
}

const TEST_OUTPUT = [
  '> blobhub-worker@0.1.0 test',
  '> node scripts/test.mjs',
  '',
  '  ✔ parses the config (3 ms)',
  '  ✔ rejects a bad key',
  '  ✖ resumes after a restart',
  '',
  '2 passing, 1 failing',
].join('\n');

const WORK = {
  steps: [
    { thinking: 'The failing test is about resuming; let me run the suite first to see the actual error.' },
    { text: 'I will run the test suite first.' },
    {
      tool: {
        name: 'Bash',
        input: { command: 'npm test', description: 'Run the tests' },
        ask: false,
        output: TEST_OUTPUT,
      },
    },
    { tool: { name: 'Bash', input: { command: 'rm -rf build', description: 'Clean the build folder' } } },
    { text: 'Cleaned the build folder; the resume test fails because the session id is not recorded. Fixing it next.' },
  ],
  usage: { input_tokens: 1200, cache_read_input_tokens: 900, output_tokens: 80 },
};

/** Navigates the page the way the app's window manager does for a window:open request (same window). */
async function follow(s: RendererSession, request: WindowRequest): Promise<void> {
  await s.page.evaluate((hash) => {
    (globalThis as unknown as { location: { hash: string } }).location.hash = hash;
  }, routeHash(request));
}

test(
  'thread view: live transcript with tools, thinking, prompt and turn end; stats; filter and search; notifications lead to the thread',
  T,
  async (t) => {
    const rig = await makeRig(t, {
      realtime: true,
      scenario: {
        markers: {
          WORK,
          CRASH: { steps: [{ text: 'About to stop.' }, { crash: { code: 3, stderr: 'fatal: out of memory' } }] },
        },
        default: { steps: [{ text: 'Done.' }] },
      },
    });
    rig.chat('job');
    rig.chat('other');
    rig.handoff('other');
    const host = rig.host({ writeSnapshotFile: false });
    await host.start();
    await waitSnapshot(host, (x) => x.sections[0]?.threads.some((th) => th.alias === 'other'), 'other seen', 15_000);

    const s = await openRenderer(browser, host, { viewport: { width: 1000, height: 760 } });
    t.after(() => s.close());
    const { page } = s;

    // The app's notification centre over the real snapshots; the dashboard window (id 1) counts as focused.
    const shown: DesktopNotification[] = [];
    let windowFocused = true;
    s.ports.notifyTurnFinished = true; // as if switched on earlier (desktop.yaml); the dashboard switches it off below
    const center = createNotificationCenter({
      preferences: () => ({ notifyTurnFinished: s.ports.notifyTurnFinished }),
      focusedThread: () => (windowFocused ? (s.router.watchedBy(1) ?? null) : null),
      show: (n) => shown.push(n),
    });
    let prev: Snapshot | null = null;
    const stopNotes = host.onChange((snap) => {
      center(prev, snap);
      prev = snap;
    });
    t.after(stopNotes);

    // A new prompt notifies (nobody is looking at `job`), and its click opens that prompt's window.
    await s.goto('#dashboard');
    rig.handoff('job');
    rig.say('job', 'WORK on the failing test');
    const promptNote = await waitFor(() => shown.find((n) => n.title.startsWith('Input needed: job')), 'prompt note', {
      timeoutMs: 20_000,
    });
    assert.equal(promptNote.onClick.channel, 'window:open');
    const promptId = host.snapshot().prompts[0]?.id;
    assert.ok(promptId);
    assert.deepEqual(promptNote.onClick.input, { view: 'prompt', promptId });

    // Click the thread's name: its live transcript, newest at the bottom.
    const row = (alias: string) => page.locator(`tr.thread[data-thread="${alias}"]`);
    await row('job').getByRole('button', { name: 'job' }).click();
    const view = page.getByTestId('transcript');
    await view.waitFor();
    await page.getByTestId('thread-title').getByText('job').waitFor();
    const entry = (kind: string) => view.locator(`li.entry[data-kind="${kind}"]`);
    await entry('prompt').waitFor();
    assert.match(await entry('human').first().innerText(), /WORK on the failing test/);
    // Thinking is folded; the text is there when opened.
    const thinking = entry('thinking').locator('details');
    assert.equal(await thinking.getAttribute('open'), null);
    // The tool call is paired with its result and shows the start of the output.
    const tool = entry('tool').first();
    assert.match(await tool.innerText(), /Bash\s+npm test/);
    assert.match(await tool.getByTestId('tool-status').innerText(), /ok · 8 lines/);
    assert.match(
      await tool.getByTestId('tool-output').innerText(),
      /blobhub-worker@0\.1\.0 test[\s\S]*rejects a bad key/,
    );
    assert.doesNotMatch(
      await tool.getByTestId('tool-output').innerText(),
      /2 passing/,
      'a preview, not the whole output',
    );
    assert.match(await entry('tool').nth(1).getByTestId('tool-status').innerText(), /running/);

    // While the view is focused on `job`, nothing about `job` notifies.
    assert.deepEqual(s.router.watchedBy(1), {
      sectionId: rig.paths.job(rig.ref.session_id).dir.split('/').pop(),
      alias: 'job',
    });
    const notesBefore = shown.length;

    // Answer from the transcript's own button (it opens the prompt window), then as that window does.
    await entry('prompt').getByRole('button', { name: 'Answer…' }).click();
    await waitFor(() => s.ports.windows.some((w) => w.view === 'prompt' && w.promptId === promptId), 'prompt window');
    const answered = await s.router.invoke(
      'prompt:answer',
      { promptId, answer: { kind: 'approval', decision: 'allow' } },
      { kind: 'window', windowId: 2 },
    );
    assert.equal(answered.ok, true);
    // Live: the prompt's resolution, the second tool's result, the agent's text and the turn end arrive pushed.
    await entry('prompt').getByTestId('prompt-resolution').getByText('Answered (desktop): Allowed').waitFor();
    await entry('turn_end').waitFor({ timeout: 20_000 });
    assert.match(await entry('tool').nth(1).getByTestId('tool-status').innerText(), /ok/);
    assert.match(await entry('text').last().innerText(), /session id is not recorded/);
    assert.match(await entry('turn_end').innerText(), /Turn ended · .* · 2\.1k in \(900 cached\) · 80 out/);
    await page
      .getByTestId('thread-stats')
      .getByText(/^1 turn · 2\.1k in \(900 cached\) · 80 out/)
      .waitFor();
    // Newest at the bottom, and the view followed it.
    const lastKind = await view.locator('li.entry').last().getAttribute('data-kind');
    assert.equal(lastKind, 'turn_end');
    const gap = await view.evaluate((el: Scrollable) => el.scrollHeight - el.scrollTop - el.clientHeight);
    assert.ok(gap < 40, `scrolled to the bottom (gap ${gap})`);
    // Open the thinking block, back to the newest entry, and take the README's picture.
    await thinking.locator('summary').click();
    assert.equal(await thinking.getAttribute('open'), '');
    await view.evaluate((el: Scrollable) => {
      el.scrollTop = el.scrollHeight;
    });
    await s.screenshot('thread-view');
    assert.equal(
      shown.slice(notesBefore).filter((n) => n.key.includes(':job:')).length,
      0,
      'no notification about the thread the focused view shows',
    );

    // The "turn finished" notice (on here; off by default) for a thread nobody looks at.
    rig.say('other', 'hello');
    const turnNote = await waitFor(() => shown.find((n) => n.title === 'Turn finished: other'), 'turn note', {
      timeoutMs: 20_000,
    });
    assert.equal(turnNote.onClick.channel, 'window:open');

    // Back to the dashboard: the row shows the stats; filter by state and search by name.
    await page.getByRole('button', { name: '← Dashboard' }).click();
    await row('job').waitFor();
    assert.equal(s.router.watchedBy(1), null, 'leaving the view ends the subscription');
    assert.match(await row('job').getByTestId('thread-stats').innerText(), /1 turn · 2\.1k in \(900 cached\) · 80 out/);
    assert.match(await page.locator('section.section').getByTestId('section-stats').innerText(), /2 turns/);

    // A failure notifies; its click opens that thread's view, which shows the error.
    rig.say('job', 'CRASH please');
    const failNote = await waitFor(() => shown.find((n) => n.title === 'Thread failed: job'), 'failure note', {
      timeoutMs: 20_000,
    });
    await runCommand(s.router, failNote.onClick);
    const request = s.ports.windows.at(-1)!;
    assert.equal(request.view, 'thread');
    await follow(s, request);
    await view.locator('li.entry[data-kind="error"]').getByText('AGENT_CRASHED').waitFor({ timeout: 15_000 });
    await page.getByTestId('thread-state').getByText('failed').waitFor();

    await page.getByRole('button', { name: '← Dashboard' }).click();
    await row('job').waitFor();
    await page.getByLabel('State').selectOption('failed');
    await waitFor(async () => (await page.locator('tr.thread').count()) === 1, 'only the failed thread');
    assert.equal(await row('job').count(), 1);
    await page.getByLabel('State').selectOption('all');
    await page.getByLabel('Search threads').fill('oth');
    await waitFor(async () => (await page.locator('tr.thread').count()) === 1, 'only the matching thread');
    assert.equal(await row('other').count(), 1);
    await page.getByLabel('Search threads').fill('nothing-like-this');
    await page.getByText('No thread matches').waitFor();
    await page.getByLabel('Search threads').fill('');
    // The dashboard's checkbox shows and drives the preference; switched off, a finished turn says nothing.
    const turnBox = page.getByLabel('Notify when a turn ends');
    await waitFor(() => turnBox.isChecked(), 'the checkbox shows the preference');
    await turnBox.uncheck();
    await waitFor(() => !s.ports.notifyTurnFinished, 'turn notices off');
    windowFocused = false;
    const quiet = shown.length;
    rig.say('other', 'again');
    await waitFor(() => rig.kinds('other').filter((k) => k === 'turn_end').length === 2, 'other turn 2');
    await waitSnapshot(
      host,
      (x) => x.sections[0].threads.find((th) => th.alias === 'other')?.stats.turns === 2,
      'stats',
    );
    assert.equal(shown.length, quiet);
    assertClean(s);
  },
);

test(
  'thread view stays bounded: 1,200 entries streamed, at most 500 shown; older ones load on scroll',
  T,
  async (t) => {
    const steps = Array.from({ length: 1200 }, (_, i) => ({ text: `line ${i}` }));
    const rig = await makeRig(t, { realtime: true, scenario: { markers: { MANY: { steps } } } });
    rig.chat('big');
    rig.handoff('big');
    const host = rig.host({ writeSnapshotFile: false });
    await host.start();
    await waitSnapshot(
      host,
      (x) => x.sections[0]?.threads.some((th) => th.alias === 'big' && th.state.startsWith('active')),
      'big active',
      15_000,
    );
    const s = await openRenderer(browser, host, { viewport: { width: 900, height: 640 } });
    t.after(() => s.close());
    const { page } = s;
    const sectionId = host.snapshot().sections[0].id;
    await s.goto(routeHash({ view: 'thread', sectionId, alias: 'big' }));
    const view = page.getByTestId('transcript');
    await view.waitFor();
    rig.say('big', 'MANY lines please');
    await view.locator('li.entry[data-kind="turn_end"]').waitFor({ timeout: 60_000 });
    const items = view.locator('li.entry');
    const count = await items.count();
    assert.ok(count <= 500, `at most 500 entries in the page (${count})`);
    assert.equal(await items.last().getAttribute('data-kind'), 'turn_end');
    const firstSeq = Number(await items.first().getAttribute('data-seq'));
    assert.ok(firstSeq > 1, 'the oldest entries were let go');

    // Scrolling to the top loads older entries from thread.log; the view stays bounded and offers the latest again.
    for (let i = 0; i < 20; i++) {
      await view.evaluate((el: Scrollable) => {
        el.scrollTop = 0;
      });
      const now = Number(await items.first().getAttribute('data-seq'));
      if (now < firstSeq) break;
      await page.waitForTimeout(100);
    }
    await waitFor(async () => Number(await items.first().getAttribute('data-seq')) < firstSeq, 'older entries loaded');
    assert.ok((await items.count()) <= 500);
    const jump = page.getByTestId('jump-latest');
    await jump.waitFor();
    await jump.click();
    await waitFor(async () => (await items.last().getAttribute('data-kind')) === 'turn_end', 'back at the latest');
    // The core holds no more than its ring either, and pages back to the very first entry.
    const page1 = await host.threadTranscript(sectionId, 'big', { limit: 500 });
    assert.equal(page1.entries.length, 500);
    assert.equal(page1.has_more, true);
    const first = await host.threadTranscript(sectionId, 'big', { before: 3, limit: 10 });
    assert.deepEqual(
      first.entries.map((e) => e.seq),
      [1, 2],
    );
    assertClean(s);
  },
);
