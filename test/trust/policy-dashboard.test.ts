/**
 * The dashboard shows the policy in force (config.yaml `policy:`, carried by `Snapshot.policy`): the renderer in
 * real headless Chromium over the real router and core, like test/desktop/renderer.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import YAML from 'yaml';
import type { Browser } from 'playwright-core';
import { makeRig, waitFor, waitSnapshot } from '../harness/support';
import { launchBrowser, openRenderer } from '../desktop/harness';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test(
  'the dashboard header shows the policy: defaults, then a strict one after Reload config',
  { timeout: 90_000 },
  async (t) => {
    const rig = await makeRig(t);
    const host = rig.host({ writeSnapshotFile: false });
    await host.start();
    await waitSnapshot(host, (s) => s.phase === 'running', 'running');
    const s = await openRenderer(browser, host);
    t.after(() => s.close());
    await s.goto('#dashboard');
    const policy = s.page.getByTestId('policy');
    await policy.waitFor();
    assert.equal(await policy.textContent(), 'envelope may name the agent · autonomous allowed · any work folder');

    const config = YAML.parse(await readFile(rig.paths.config, 'utf8')) as Record<string, unknown>;
    config.policy = { envelope_executable: 'deny', max_permissions: 'approval', work_folder_roots: [rig.workFolder] };
    await writeFile(rig.paths.config, YAML.stringify(config));
    await s.page.locator('button[data-key="reload"]').click();
    await waitSnapshot(
      host,
      (snap) => snap.policy?.envelope_executable === 'deny' && snap.phase === 'running',
      'reloaded',
    );
    await waitFor(
      async () => (await policy.textContent())?.startsWith('configured agents only'),
      'the header shows the new policy',
    );
    assert.equal(
      await policy.textContent(),
      `configured agents only · approval only · work folders in ${rig.workFolder}`,
    );
    assert.equal(await policy.getAttribute('title'), `work_folder_roots: ${rig.workFolder}`);
    assert.deepEqual(s.problems, [], 'no console errors, page errors or CSP violations');
  },
);
