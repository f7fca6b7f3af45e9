/**
 * "Try a local sandbox" in the real renderer (headless Chromium via test/desktop/harness.ts, the real router
 * with the desktop's sandbox switch over a signed-out real host): the login view hands over to a dashboard that
 * shows the sandbox's threads live with a Sandbox badge; the approval is answered from the prompt window, the
 * failed thread is reset with one click and runs; "Leave sandbox" switches back and removes the sandbox. No
 * console errors, page errors or CSP violations. Screenshot: sandbox.png (docs/screenshots/ with UPDATE_SCREENSHOTS=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { createWorkerHost } from '../../main/core/worker';
import { createSandboxSwitch } from '../../main/sandbox/desktop';
import { ROOT, tempDir, waitFor } from '../support/process';
import { launchBrowser, openRenderer } from '../desktop/harness';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test(
  'login → "Try a local sandbox" → a live sandbox dashboard; answer, reset, leave',
  { timeout: 120_000 },
  async (t) => {
    const tmp = await tempDir('bhw-sandbox-ui-');
    t.after(() => tmp.cleanup());
    const home = join(tmp.path, 'home');
    const real = createWorkerHost({ home, writeSnapshotFile: false });
    t.after(() => real.stop());
    await real.start();
    const sw = createSandboxSwitch({
      real,
      sandbox: { stateRoot: join(home, 'sandbox'), agentSimDir: join(ROOT, 'main/sandbox/agent-sim') },
    });
    t.after(() => sw.leave());
    const s = await openRenderer(browser, sw.host, { sandbox: sw, viewport: { width: 1100, height: 520 } });
    t.after(() => s.close());
    const { page } = s;

    await s.goto('#login');
    await page.getByRole('button', { name: 'Try a local sandbox' }).click();
    await waitFor(() => s.ports.windows.some((w) => w.view === 'dashboard'), 'the login view opens the dashboard', {
      timeoutMs: 20_000,
    });
    await waitFor(() => s.ports.closed.length === 1, 'and closes itself');
    assert.ok(sw.active);

    await s.goto('#dashboard');
    await page.getByTestId('sandbox-badge').waitFor();
    assert.match(await page.getByTestId('identity').innerText(), /Sandbox Worker/);
    await page.getByTestId('sandbox-note').waitFor();
    // Live: the handed-off thread waits on its approval, the other failed on its missing folder.
    await page.locator('tr[data-thread="fix-login"]').waitFor({ timeout: 20_000 });
    await page.locator('tr[data-thread="update-docs"][data-state="failed"]').waitFor({ timeout: 20_000 });
    await page.getByTestId('prompts').getByText('Approval', { exact: false }).first().waitFor({ timeout: 20_000 });
    assert.match(await page.getByTestId('thread-error').first().innerText(), /WORK_FOLDER_NOT_FOUND/);
    await s.screenshot('sandbox');

    // The approval, answered from the prompt window (as the app opens it from the dashboard).
    const prompt = sw.host.snapshot().prompts.find((p) => p.kind === 'approval')!;
    await s.goto(`#prompt/${encodeURIComponent(prompt.id)}`);
    await page.getByTestId('allow-once').click();
    await waitFor(
      () => sw.host.snapshot().prompts.some((p) => p.kind === 'ask_user_question'),
      'the agent went on to its questions',
      { timeoutMs: 20_000 },
    );

    // One click on Reset: the sandbox created the missing folder, so the thread now activates and runs.
    await s.goto('#dashboard');
    const folder = join(home, 'sandbox', 'work', 'docs-site');
    await waitFor(() => existsSync(folder), 'the sandbox created the missing folder', { timeoutMs: 10_000 });
    await page.locator('tr[data-thread="update-docs"]').getByRole('button', { name: 'Reset to pending' }).click();
    await page
      .locator('tr[data-thread="update-docs"]:not([data-state="failed"]):not([data-state="pending"])')
      .waitFor({ timeout: 20_000 });

    // Leave: back to the real (signed-out) worker, the sign-in window requested, the sandbox removed.
    await page.getByRole('button', { name: 'Leave sandbox' }).click();
    await waitFor(() => !sw.active, 'left the sandbox', { timeoutMs: 20_000 });
    await page.getByTestId('preflight-banner').waitFor();
    assert.equal(await page.getByTestId('sandbox-badge').count(), 0);
    await waitFor(
      () => s.ports.windows.at(-1)?.view === 'login',
      'the sign-in window is requested once the sandbox stopped',
      { timeoutMs: 20_000 },
    );
    assert.ok(!existsSync(join(home, 'sandbox')), 'the sandbox state root is removed');
    assert.ok(!existsSync(join(home, 'credentials.yaml')), 'the real state root never got credentials');
    assert.deepEqual(s.problems, [], 'no console errors, page errors or CSP violations');
  },
);
