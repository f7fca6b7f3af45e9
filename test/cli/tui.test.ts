/**
 * `blobhub-worker start --tui` in a REAL terminal: tmux (private socket) runs the built CLI (dist/cli.js)
 * against the emulator on 127.0.0.1 with the fake agents as child processes. `send-keys` drives it and
 * `capture-pane -e` reads the screen with its colour codes: the header, a thread going pending → active →
 * failed with its colours, the errors ribbon, answering a prompt with the keyboard, resizing, `q` → exit 0 with
 * the lock removed, the log lines in logs/{instance}/worker.jsonl and a quiet stderr; and without a terminal,
 * the one-line fallback to headless mode. The screen is also rendered to docs/screenshots/tui.png (with
 * UPDATE_SCREENSHOTS=1; dist/screenshots/ otherwise).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { agentTexts, makeRig, type Rig } from '../harness/support';
import { CLI, ROOT, spawnCli, waitExit, waitFor } from '../support/process';
import { Terminal, tmuxAvailable } from '../support/tmux';
import { terminalPage } from '../support/ansi-html';
import { launchBrowser, screenshotsDir } from '../desktop/harness';

const SCENARIO = {
  markers: {
    'approve-me': {
      steps: [{ tool: { name: 'Bash', input: { command: 'rm -rf build' } } }, { text: 'after the tool' }],
    },
    'crash-me': { steps: [{ thinking: 'about to fall over' }, { crash: { code: 3, stderr: 'boom' } }] },
    'long-turn': { steps: [{ text: 'working on it' }, { sleep: 60_000 }, { text: 'never reached' }] },
  },
  default: { steps: [{ text: 'Hello from the fake agent' }] },
};

/** An SGR sequence (ESC [ params m); built from a string so the pattern carries no raw control character. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[([0-9;]*)m`, 'g');

const skip = tmuxAvailable() ? false : 'tmux is not installed (.ci/run installs the Debian package)';

/** A shell script that runs the CLI in the rig's environment and records its exit status and stderr. */
async function launcher(rig: Rig, args: string[]): Promise<{ script: string; exitFile: string; stderrFile: string }> {
  const dir = join(rig.home, '..');
  const exitFile = join(dir, 'tui.exit');
  const stderrFile = join(dir, 'tui.stderr');
  const env = ['FAKE_AGENT_SCENARIO', 'FAKE_AGENT_RECORD', 'FAKE_AGENT_STATE_DIR']
    .map((k) => `export ${k}='${rig.env[k]}'`)
    .join('\n');
  const script = join(dir, 'tui.sh');
  await writeFile(
    script,
    `#!/bin/sh
${env}
# A user's terminal: no CI marker or NO_COLOR that would turn the colours off.
unset CI NO_COLOR FORCE_COLOR BLOBHUB_WORKER_HOME
cd '${ROOT}'
'${process.execPath}' '${CLI}' ${args.join(' ')} --home '${rig.home}' 2>'${stderrFile}'
echo $? > '${exitFile}'
`,
  );
  await chmod(script, 0o755);
  return { script, exitFile, stderrFile };
}

/** The screen line that shows thread `alias` (the row, not the └ line). */
function rowOf(screen: string, alias: string): string | undefined {
  return screen.split('\n').find((l) => new RegExp(`(▶|\\s)\\s*${alias}\\s`).test(l) && !l.includes('└'));
}

/** The SGR parameters in effect right before `label` on the row of `alias` (in a `capture-pane -e` screen). */
function sgrBefore(screenWithEscapes: string, alias: string, label: string): string {
  const line = screenWithEscapes.split('\n').find((l) => l.includes(` ${alias} `) || l.includes(`${alias} `));
  assert.ok(line, `row ${alias} in the capture`);
  const at = line.indexOf(label, line.indexOf(alias));
  assert.ok(at > 0, `"${label}" on the row of ${alias}: ${JSON.stringify(line)}`);
  return sgrCodes(line.slice(0, at));
}

/** The SGR parameters in effect at the end of `text` (everything since the last reset). */
function sgrCodes(text: string): string {
  const codes = [...text.matchAll(SGR)].map((m) => m[1]);
  const since = codes.findLastIndex((c) => c === '0' || c === '' || c.startsWith('0;'));
  return codes.slice(Math.max(0, since)).join(';');
}

test(
  'start --tui in tmux: header, pending → active → failed in colour, ribbon, answering a prompt, resize, q',
  { skip, timeout: 180_000 },
  async (t) => {
    const rig = await makeRig(t, { realtime: true, maxAgents: 1, scenario: SCENARIO });
    const term = new Terminal();
    t.after(() => term.kill());
    rig.handoff('first');
    const { script, exitFile, stderrFile } = await launcher(rig, ['start', '--tui']);
    await term.start(script, 80, 24);

    // Header: version, user, agents busy/max, clock; the instance id on the second line.
    // (Each wait names everything asserted after it: a capture can land between two writes of a frame.)
    let screen = await term.waitScreen(
      (s) => /active \(idle\)/.test(rowOf(s, 'first') ?? '') && /q quit/.test(s.split('\n')[22] ?? ''),
      'first active, the whole frame drawn',
    );
    const lines = screen.split('\n');
    assert.match(lines[0], /^BlobHub Worker 0\.1\.0 · Worker · 1\/1 agents · \d\d:\d\d:\d\d/);
    assert.match(lines[1], /usr_\w+ · instance ins_\w+/);
    const instanceId = /instance (ins_\w+)/.exec(lines[1])![1];
    assert.ok(screen.includes('session_agent_harness · s0'), 'panel title');
    assert.match(screen, /Thread\s+State\s+Agent\s+Session\s+Last Event/);
    assert.match(screen, /└ default model · default effort · approval/);
    assert.match(screen, /recent errors[\s│]+none/);
    assert.ok(screen.replace(/\n$/, '').split('\n').length <= 24, 'the frame fits 24 rows');
    assert.match(
      lines[22] ?? '',
      /↑↓ select · ⏎ transcript · a answer · r reset · s stop · q quit/,
      'footer on the last line',
    );

    // A second thread waits for the only agent slot: pending, yellow.
    rig.handoff('job');
    await term.waitScreen((s) => /pending/.test(rowOf(s, 'job') ?? ''), 'job pending');
    assert.match(sgrBefore(await term.capture(true), 'job', 'pending'), /(^|;)33(;|$)/, 'pending is yellow');
    assert.match(sgrBefore(await term.capture(true), 'first', 'active (idle)'), /(^|;)32(;|$)/, 'active is green');

    // An approval prompt on `first`, answered with the keyboard: a → the form → 1 (allow once).
    rig.say('first', 'approve-me please');
    await term.waitScreen((s) => /prompt waiting/.test(rowOf(s, 'first') ?? ''), 'prompt shown on the row');
    await term.send(['a']);
    screen = await term.waitScreen((s) => s.includes('approval needed · first'), 'answer form');
    assert.match(screen, /Bash → rm -rf build/);
    assert.match(screen, /1\s+allow once/);
    assert.match(screen, /2\s+allow for this session/);
    assert.match(screen, /3\s+deny/);
    await term.send(['1']);
    await term.waitScreen((s) => s.includes('first: answered (allowed once)'), 'answer confirmed in the footer');
    await waitFor(
      () =>
        rig
          .items('first')
          .some((i) => i.metadata?.type === 'pending_prompt_resolved' && i.metadata.answered_via === 'desktop'),
      'pending_prompt_resolved answered_via desktop on the server',
      { timeoutMs: 15_000 },
    );
    await waitFor(
      () => rig.items('first').some((i) => i.metadata?.type === 'text' && i.content[0]?.text === 'after the tool'),
      'the tool ran and the agent went on',
      { timeoutMs: 15_000 },
    );

    // `first` completes (from the web UI): dim; the slot frees and `job` goes active (green).
    rig.setState('first', 'completed');
    await term.waitScreen(
      (s) => /completed/.test(rowOf(s, 'first') ?? '') && /active \((idle|turn)\)/.test(rowOf(s, 'job') ?? ''),
      'first completed, job active',
    );
    assert.match(sgrBefore(await term.capture(true), 'first', 'completed'), /(^|;)2(;|$)/, 'completed is dim');
    assert.match(sgrBefore(await term.capture(true), 'job', 'active'), /(^|;)32(;|$)/, 'active is green');

    // Selection: ↓ moves the highlight (SGR 7, inverse) from `first` to `job`.
    assert.match(rowOf(await term.capture(), 'first') ?? '', /▶/);
    await term.send(['Down']);
    await term.waitScreen((s) => /▶/.test(rowOf(s, 'job') ?? ''), 'job selected');
    assert.match(sgrBefore(await term.capture(true), 'job', 'job'), /(^|;)7(;|$)/, 'the selected row is inverse');

    // s stops the running turn: the agent stays, the thread goes back to active (idle).
    rig.say('job', 'long-turn please');
    await term.waitScreen((s) => /active \(turn\)/.test(rowOf(s, 'job') ?? ''), 'job running a turn');
    await waitFor(
      () => rig.items('job').some((i) => i.metadata?.type === 'text' && i.content[0]?.text === 'working on it'),
      'the long turn started',
      { timeoutMs: 15_000 },
    );
    await term.send(['s']);
    await term.waitScreen(
      (s) => s.includes('job: turn stopped') && /active \(idle\)/.test(rowOf(s, 'job') ?? ''),
      'turn stopped, job idle',
    );
    await waitFor(
      () => rig.items('job').some((i) => i.metadata?.type === 'turn_end' && i.metadata.interrupted === true),
      'turn_end interrupted on the server',
      { timeoutMs: 15_000 },
    );
    assert.ok(!agentTexts(rig, 'job').includes('never reached'));

    // The agent of `job` crashes: failed, red, and the ribbon names it. A 503 burst adds a transient warning.
    rig.emu.control.addFault({ command: '*', kind: 'status', status: 503, times: 3 });
    rig.say('job', 'crash-me now');
    await term.waitScreen(
      (s) => /failed/.test(rowOf(s, 'job') ?? '') && /AGENT_CRASHED s0\/job/.test(s) && /API_TRANSIENT_ERROR/.test(s),
      'job failed, in the ribbon with the transient error',
      30_000,
    );
    const colored = await term.capture(true);
    assert.match(sgrBefore(colored, 'job', 'failed'), /(^|;)31(;|$)/, 'failed is red');
    const ribbonLine = colored.split('\n').find((l) => l.includes('AGENT_CRASHED') && l.includes('s0/job'));
    assert.ok(ribbonLine, 'ribbon line');
    assert.match(
      sgrCodes(ribbonLine.slice(0, ribbonLine.indexOf('AGENT_CRASHED'))),
      /(^|;)31(;|$)/,
      'the ribbon entry is red',
    );

    await renderScreenshot(colored, t);

    // Enter: the live transcript of `job` (its turn, the thinking, the failure).
    await term.send(['Enter']);
    screen = await term.waitScreen(
      (s) => s.includes('job · failed · transcript') && /you\s+crash-me now/.test(s) && /error\s+AGENT_CRASHED/.test(s),
      'transcript: the human turn and the failure',
    );
    assert.match(screen, /thinking\s+about to fall over/);
    await term.send(['Escape']);
    await term.waitScreen(
      (s) => s.includes('Thread') && s.includes('session_agent_harness · s0'),
      'back to the panels',
    );

    // r on the failed thread: confirm with y → pending on the server (then active again).
    const states: unknown[] = [];
    const stop = rig.emu.onEvent(() => {
      const st = rig.envelopeState('job');
      if (states[states.length - 1] !== st) states.push(st);
    });
    t.after(stop);
    await term.send(['r']);
    await term.waitScreen((s) => s.includes('reset job to pending? y = yes'), 'reset confirmation');
    await term.send(['y']);
    await waitFor(() => states.includes('pending'), 'job reset to pending on the server', { timeoutMs: 15_000 });

    // Resize: smaller and larger, the frame follows (header on top, footer last, no leftovers).
    await term.resize(100, 30);
    screen = await term.waitScreen((s) => s.split('\n')[28]?.includes('q quit') ?? false, 'footer at 100×30');
    assert.match(screen.split('\n')[0], /^BlobHub Worker/);
    assert.equal(screen.split('\n').filter((l) => l.startsWith('BlobHub Worker')).length, 1, 'one header');
    await term.resize(80, 24);
    screen = await term.waitScreen((s) => s.split('\n')[22]?.includes('q quit') ?? false, 'footer at 80×24');
    assert.equal(
      screen.split('\n').filter((l) => l.startsWith('BlobHub Worker')).length,
      1,
      'one header after shrinking',
    );
    assert.ok(
      screen.split('\n').every((l) => l.length <= 80),
      'nothing wider than the terminal',
    );

    // q: graceful shutdown, exit 0, the lock removed, the log in logs/{instance}/worker.jsonl, stderr quiet.
    await term.send(['q']);
    await waitFor(() => existsSync(exitFile), 'the CLI exited', { timeoutMs: 30_000 });
    assert.equal((await readFile(exitFile, 'utf8')).trim(), '0', 'exit status 0');
    assert.ok(!existsSync(join(rig.home, 'instance.yaml')), 'lock removed');
    // Nothing on stderr but ink's show-cursor sequence (restore-cursor writes it there at exit, for the terminal).
    assert.equal(
      (await readFile(stderrFile, 'utf8')).replaceAll('\u001b[?25h', ''),
      '',
      'stderr stays quiet in TUI mode',
    );
    const log = join(rig.home, 'logs', instanceId, 'worker.jsonl');
    const records = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; level: string });
    const events = records.map((r) => r.event);
    for (const e of ['preflight_ok', 'started', 'stopping', 'worker_stopped', 'stopped']) {
      assert.ok(events.includes(e), `worker.jsonl has ${e} (${events.join(',')})`);
    }
    assert.ok(events.indexOf('started') < events.indexOf('stopping'));
    // The terminal is back to the shell's screen: the dashboard left the alternate screen.
    screen = await term.capture(false, true);
    assert.match(screen, /Worker stopped \(instance ins_\w+\)\./);
    assert.match(screen.replace(/\n/g, ''), /Log: \/.*worker\.jsonl/);
    assert.ok(!screen.includes('session_agent_harness ·'), 'no dashboard frame left behind');
  },
);

async function renderScreenshot(colored: string, t: { after(fn: () => Promise<void>): void }): Promise<void> {
  const dir = screenshotsDir();
  await mkdir(dir, { recursive: true });
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 }, deviceScaleFactor: 1 });
  await page.setContent(terminalPage(colored, 'blobhub-worker start --tui'));
  await page.locator('#screen').screenshot({ path: join(dir, 'tui.png') });
  await page.close();
}

test(
  'start --tui without a terminal: one line on stderr, then the normal headless mode',
  { skip, timeout: 60_000 },
  async (t) => {
    const rig = await makeRig(t, { realtime: true });
    const child = spawnCli(['start', '--tui', '--json'], { home: rig.home, env: rig.env });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await waitFor(() => stdout.includes('"event":"started"'), 'started line on stdout', { timeoutMs: 20_000 });
    const first = stderr.split('\n')[0];
    assert.equal(
      first,
      'blobhub-worker: --tui needs a terminal (stdout is not a terminal); running headless, JSON log lines on stderr',
    );
    await waitFor(() => stderr.includes('"event":"started"'), 'JSON log lines on stderr', { timeoutMs: 10_000 });
    assert.ok(
      !existsSync(join(rig.home, 'logs')) || readdirSync(join(rig.home, 'logs')).length === 0,
      'no worker.jsonl',
    );
    child.kill('SIGTERM');
    const { status } = await waitExit(child);
    assert.equal(status, 0);
    assert.ok(!existsSync(join(rig.home, 'instance.yaml')));
    assert.ok(!/\n\s+at /.test(stderr), 'no stack trace');
  },
);
