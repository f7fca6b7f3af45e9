import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_ICON_COUNT,
  SANDBOX_HEADER,
  buildTrayModel,
  type TrayItem,
  type TrayPlatform,
} from '../../main/desktop/tray-model';
import { contract } from '../../main/ipc/contract';
import { failedThread, prompt, section, snap, thread } from './fixtures';

const PLATFORMS: TrayPlatform[] = ['darwin', 'linux', 'win32'];
const ROOT = new URL('../..', import.meta.url).pathname;

function flat(items: TrayItem[]): TrayItem[] {
  return items.flatMap((i) => (i.kind === 'submenu' ? [i, ...flat(i.items)] : [i]));
}
const byId = (items: TrayItem[], id: string) => flat(items).find((i) => 'id' in i && i.id === id);
const labels = (items: TrayItem[]) =>
  flat(items)
    .filter((i) => 'label' in i)
    .map((i) => (i as { label: string }).label);

const STATES = {
  idle: snap({ sections: [section('ses_1', [thread('main', { state: 'active_idle' })])] }),
  running: snap({
    agents: { busy: 1, max: 4 },
    sections: [section('ses_1', [thread('main', { state: 'active_turn' })])],
  }),
  needs_input: snap({
    agents: { busy: 1, max: 4 },
    sections: [section('ses_1', [thread('main', { state: 'active_turn', open_prompt_id: 'pr_1' })])],
    prompts: [prompt('pr_1')],
  }),
  error: snap({ sections: [section('ses_1', [failedThread('broken')])] }),
  signed_out: snap({
    phase: 'signed_out',
    identity: null,
    instance_id: null,
    preflight_error: {
      code: 'CREDENTIALS_NOT_FOUND',
      message: 'credentials.yaml is missing',
      remediation: 'Sign in',
      at: '2026-11-21T08:00:00Z',
    },
  }),
} as const;

for (const [state, snapshot] of Object.entries(STATES)) {
  for (const platform of PLATFORMS) {
    test(`tray: ${state} on ${platform}`, () => {
      const model = buildTrayModel(snapshot, { platform, startAtLogin: false });
      assert.equal(model.icon, state);
      // "Needs input" shows how many prompts wait (one here) in the icon itself.
      const base = state === 'needs_input' ? 'needs_input-1' : state;
      assert.equal(model.iconFile, platform === 'darwin' ? `${base}Template.png` : `${base}.png`);
      assert.equal(model.template, platform === 'darwin');
      assert.equal(model.clickOpensDashboard, platform === 'win32');
      assert.equal(model.resetMenuOnChange, platform === 'linux');
      assert.equal(model.title === null, platform !== 'darwin');
      assert.ok(model.tooltip.length <= (platform === 'win32' ? 127 : 256));
      // Always: a status row first, the dashboard, config, logs, start-at-login, sign-in/out, quit.
      assert.equal(model.items[0].kind, 'label');
      for (const id of ['open-dashboard', 'open-config', 'reload-config', 'open-logs', 'start-at-login', 'quit']) {
        assert.ok(byId(model.items, id), `${id} present`);
      }
      assert.deepEqual((byId(model.items, 'quit') as { command: unknown }).command, {
        channel: 'app:quit',
        input: undefined,
      });
      // Serializable: plain data only.
      assert.deepEqual(JSON.parse(JSON.stringify(model)), JSON.parse(JSON.stringify(model)));
      assert.ok(!flat(model.items).some((i) => typeof (i as { click?: unknown }).click === 'function'));
    });
  }
}

test('tray: identity, agents busy/max and each section status are listed', () => {
  const s = snap({
    agents: { busy: 2, max: 5 },
    sections: [
      section('ses_1', [thread('a', { state: 'active_turn' }), thread('b')]),
      section('ses_2', [], {
        attachment: 'refused',
        error: { code: 'SESSION_OWNED_BY_DIFFERENT_USER', message: 'owned', at: 'x' },
      }),
    ],
  });
  const all = labels(buildTrayModel(s, { platform: 'linux', startAtLogin: true }).items);
  assert.ok(all.includes('Signed in as Worker Bot <bot@example.com>'));
  assert.ok(all.includes('Agents 2/5 busy'));
  assert.ok(all.includes('ses_1: attached · 2 threads'));
  assert.ok(all.includes('ses_2: refused (SESSION_OWNED_BY_DIFFERENT_USER) · 0 threads'));
  assert.ok(all.includes('a: active (turn)'));
  const box = byId(buildTrayModel(s, { platform: 'linux', startAtLogin: true }).items, 'start-at-login');
  assert.deepEqual(box, {
    kind: 'checkbox',
    id: 'start-at-login',
    label: 'Start at login',
    checked: true,
    command: { channel: 'app:setStartAtLogin', input: { enabled: false } },
  });
});

test('tray: failed threads reset to pending, prompts open the prompt window', () => {
  const s = snap({
    sections: [section('ses_1', [failedThread('broken', 'T1', 'WORK_FOLDER_NOT_FOUND')])],
    prompts: [prompt('pr_9', { thread: 'main' })],
  });
  const model = buildTrayModel(s, { platform: 'win32', startAtLogin: false });
  const reset = byId(model.items, 'reset:session_agent_harness-ses_1:broken');
  assert.deepEqual(reset && 'command' in reset ? reset.command : null, {
    channel: 'thread:reset',
    input: { sectionId: 'session_agent_harness-ses_1', alias: 'broken' },
  });
  assert.match((reset as { label: string }).label, /WORK_FOLDER_NOT_FOUND/);
  const answer = byId(model.items, 'prompt:pr_9');
  assert.deepEqual(answer && 'command' in answer ? answer.command : null, {
    channel: 'window:open',
    input: { view: 'prompt', promptId: 'pr_9' },
  });
  assert.match((answer as { label: string }).label, /Approve Bash\?/);
  assert.equal(byId(model.items, 'failed')?.kind, 'submenu');
});

test('tray: signed out offers Sign in (opens the login window), signed in offers Sign out', () => {
  const out = buildTrayModel(STATES.signed_out, { platform: 'linux', startAtLogin: false });
  assert.deepEqual((byId(out.items, 'sign-in') as { command: unknown }).command, {
    channel: 'window:open',
    input: { view: 'login' },
  });
  assert.equal(byId(out.items, 'sign-out'), undefined);
  assert.ok(labels(out.items).some((l) => l.startsWith('CREDENTIALS_NOT_FOUND')));
  const inn = buildTrayModel(STATES.idle, { platform: 'linux', startAtLogin: false });
  assert.deepEqual((byId(inn.items, 'sign-out') as { command: unknown }).command, {
    channel: 'auth:signOut',
    input: undefined,
  });
  // A broken config.yaml is not a sign-in problem: the credentials stay, Sign out stays.
  const badConfig = snap({
    phase: 'preflight_failed',
    identity: null,
    preflight_error: { code: 'INVALID_CONFIG', message: 'm', at: 'x' },
  });
  assert.ok(byId(buildTrayModel(badConfig, { platform: 'linux', startAtLogin: false }).items, 'sign-out'));
});

test('tray: a preflight failure other than sign-in is an error icon; macOS title counts prompts', () => {
  const failed = snap({
    phase: 'preflight_failed',
    preflight_error: { code: 'INVALID_CONFIG', message: 'bad yaml', at: 'x' },
  });
  assert.equal(buildTrayModel(failed, { platform: 'darwin', startAtLogin: false }).icon, 'error');
  assert.equal(buildTrayModel(STATES.needs_input, { platform: 'darwin', startAtLogin: false }).title, '1');
  assert.equal(buildTrayModel(STATES.idle, { platform: 'darwin', startAtLogin: false }).title, '');
});

test('tray: the icon, the status rows, the tooltip and the menu say how many prompts wait', () => {
  const prompts = (n: number) => Array.from({ length: n }, (_, i) => prompt(`pr_${i}`));
  for (const platform of PLATFORMS) {
    const three = buildTrayModel(snap({ prompts: prompts(3) }), { platform, startAtLogin: false });
    assert.equal(three.iconFile, platform === 'darwin' ? 'needs_input-3Template.png' : 'needs_input-3.png');
    assert.ok(three.items.some((i) => i.kind === 'label' && i.label === '3 prompts waiting'));
    assert.match(three.tooltip, /3 prompts waiting/);
    const answer = byId(three.items, 'prompts');
    assert.ok(answer?.kind === 'submenu' && answer.label === 'Answer prompts (3)');
    // Past what a digit can show: the plain "needs input" icon; the rows still count.
    const many = buildTrayModel(snap({ prompts: prompts(12) }), { platform, startAtLogin: false });
    assert.equal(many.iconFile, platform === 'darwin' ? 'needs_inputTemplate.png' : 'needs_input.png');
    assert.ok(many.items.some((i) => i.kind === 'label' && i.label === '12 prompts waiting'));
  }
  // Every counted icon the model can name exists.
  for (let n = 1; n <= MAX_ICON_COUNT; n++) {
    for (const file of [`needs_input-${n}.png`, `needs_input-${n}Template.png`, `needs_input-${n}@2x.png`])
      assert.ok(existsSync(join(ROOT, 'renderer/assets/tray', file)), file);
  }
});

test('tray: the "turn finished" notice is a checkbox that flips the preference', () => {
  const off = buildTrayModel(snap(), { platform: 'linux', startAtLogin: false, notifyTurnFinished: false });
  assert.deepEqual(byId(off.items, 'notify-turns'), {
    kind: 'checkbox',
    id: 'notify-turns',
    label: 'Notify when a turn ends',
    checked: false,
    command: { channel: 'app:setNotifyTurnFinished', input: { enabled: true } },
  });
  const on = buildTrayModel(snap(), { platform: 'linux', startAtLogin: false, notifyTurnFinished: true });
  const box = byId(on.items, 'notify-turns');
  assert.ok(box?.kind === 'checkbox' && box.checked);
});

test("tray: a failed thread's submenu also opens its transcript", () => {
  const model = buildTrayModel(snap({ sections: [section('ses_1', [failedThread('broken')])] }), {
    platform: 'linux',
    startAtLogin: false,
  });
  const view = byId(model.items, 'view:session_agent_harness-ses_1:broken');
  assert.ok(view?.kind === 'action');
  assert.deepEqual(view.command, {
    channel: 'window:open',
    input: { view: 'thread', sectionId: 'session_agent_harness-ses_1', alias: 'broken' },
  });
});

test('tray: Windows tooltip is capped at 127 characters', () => {
  const s = snap({ identity: { user_id: 'u', name: 'N'.repeat(200), email: null, api_url: 'x' } });
  const model = buildTrayModel(s, { platform: 'win32', startAtLogin: false });
  assert.equal(model.tooltip.length, 127);
  assert.ok(model.tooltip.endsWith('…'));
});

test('tray: in the sandbox the menu says so first, offers Leave sandbox instead of Sign out, and the tooltip names it', () => {
  const worker = { user_id: 'usr_sb', name: 'Sandbox Worker', email: null, api_url: 'http://127.0.0.1:4000/v1' };
  const inSandbox = snap({
    sandbox: true,
    identity: worker,
    sections: [section('ses_demo', [failedThread('update-docs')])],
  });
  // A sandbox whose worker could not sign in still leaves the sandbox rather than asking for the user's key.
  const signedOutSandbox = snap({ ...STATES.signed_out, sandbox: true });
  for (const s of [inSandbox, signedOutSandbox]) {
    for (const platform of PLATFORMS) {
      const model = buildTrayModel(s, { platform, startAtLogin: false });
      assert.deepEqual(model.items[0], { kind: 'label', label: SANDBOX_HEADER }, 'the sandbox row comes first');
      const leave = byId(model.items, 'leave-sandbox');
      assert.deepEqual(leave, {
        kind: 'action',
        id: 'leave-sandbox',
        label: 'Leave sandbox (back to your worker)',
        enabled: true,
        command: { channel: 'sandbox:leave', input: undefined },
      });
      assert.ok(
        contract['sandbox:leave'].input.safeParse((leave as { command: { input: unknown } }).command.input).success,
      );
      assert.equal(byId(model.items, 'sign-out'), undefined, 'no Sign out: in the sandbox it would only leave it');
      assert.equal(byId(model.items, 'sign-in'), undefined);
      for (const id of ['open-config', 'reload-config', 'open-logs']) {
        assert.match(
          (byId(model.items, id) as { label: string }).label,
          / \(sandbox\)$/,
          `${id} acts on the sandbox's files`,
        );
      }
      assert.match(model.tooltip, /^BlobHub Worker \(sandbox\): /);
    }
  }
  assert.ok(
    labels(buildTrayModel(inSandbox, { platform: 'linux', startAtLogin: false }).items).includes(
      'Signed in as Sandbox Worker',
    ),
  );
  // Windows' 127-character cap never cuts "sandbox" off.
  const long = snap({ sandbox: true, identity: { ...worker, name: 'N'.repeat(200) } });
  const win = buildTrayModel(long, { platform: 'win32', startAtLogin: false });
  assert.equal(win.tooltip.length, 127);
  assert.match(win.tooltip, /^BlobHub Worker \(sandbox\): /);

  // The real worker (no tag, or `sandbox: false`) shows none of it.
  for (const s of [STATES.idle, snap({ ...STATES.idle, sandbox: false })]) {
    const model = buildTrayModel(s, { platform: 'linux', startAtLogin: false });
    assert.equal(byId(model.items, 'leave-sandbox'), undefined);
    assert.ok(byId(model.items, 'sign-out'));
    assert.ok(!labels(model.items).some((l) => /sandbox/i.test(l)), 'no sandbox wording');
    assert.ok(!/sandbox/i.test(model.tooltip));
  }
});
