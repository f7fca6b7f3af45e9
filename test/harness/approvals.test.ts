/**
 * Approval scopes and stopping a turn end to end (protocol §9.2a, docs/harness.md): the real worker core, the
 * emulator on 127.0.0.1 and the fake agents as child processes.
 *  - "always" from the thread: answer.scope session, rules in thread.yaml agent.granted and the snapshot, the
 *    same command later runs with no prompt, another still asks; revoking; re-applied on respawn.
 *  - `/stop` from the thread and WorkerHost.interruptTurn: the open prompt is cancelled `interrupted`, the turn
 *    ends `turn_end {interrupted: true}`, the agent process stays, the next message is a new turn, same session.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../support/process';
import { makeRig, waitFor, waitSnapshot, type Rig } from './support';

const touch = (file: string) => ({
  steps: [{ tool: { name: 'Bash', input: { command: `touch ${file}` }, output: '' } }, { text: `touched ${file}` }],
});
const SCENARIO = {
  markers: {
    'touch-a': touch('a.txt'),
    'touch-b': touch('b.txt'),
    'slow-work': { steps: [{ text: 'working…' }, { sleep: 20_000 }, { text: 'never said' }] },
  },
};

type Item = ReturnType<Rig['items']>[number];
const meta = (i: Item): Record<string, any> => i.metadata ?? {};
const ofType = (rig: Rig, type: string): Item[] => rig.items('job').filter((i) => meta(i).type === type);

async function prompts(rig: Rig, count: number): Promise<Array<Record<string, any>>> {
  await waitFor(() => ofType(rig, 'pending_prompt').length >= count, `pending_prompt #${count}`);
  return ofType(rig, 'pending_prompt').map((i) => meta(i).prompt);
}

async function turnEnds(rig: Rig, count: number): Promise<Item[]> {
  await waitFor(() => ofType(rig, 'turn_end').length >= count, `turn_end #${count}`);
  return ofType(rig, 'turn_end');
}

test('"always" from the thread: allowed for the session, recorded, the same command runs unasked, revocable', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');

  rig.say('job', 'touch-a please');
  const [p1] = await prompts(rig, 1);
  assert.deepEqual(p1.session_rules, ['Bash(touch a.txt)']);
  assert.match(
    ofType(rig, 'pending_prompt')[0].content[0].text!,
    /always to allow for this session \(Bash\(touch a\.txt\)\)/,
  );
  rig.say('job', 'Always.');
  await waitFor(() => ofType(rig, 'pending_prompt_resolved').length === 1, 'resolved');
  const resolved = meta(ofType(rig, 'pending_prompt_resolved')[0]);
  assert.deepEqual(resolved.answer, {
    kind: 'approval',
    decision: 'allow',
    scope: 'session',
    rules: ['Bash(touch a.txt)'],
  });
  assert.equal(
    ofType(rig, 'pending_prompt_resolved')[0].content[0].text,
    '✓ Prompt answered via thread: Allowed for this session: Bash(touch a.txt)',
  );
  await turnEnds(rig, 1);
  assert.deepEqual((await rig.threadYaml('job'))?.agent.granted, ['Bash(touch a.txt)']);
  const sectionId = host.snapshot().sections[0].id;
  await waitSnapshot(
    host,
    (s) => s.sections[0].threads[0]?.granted_rules.includes('Bash(touch a.txt)'),
    'granted in snapshot',
  );

  // The same command again: no prompt. Another command: asks.
  rig.say('job', 'touch-a again');
  await turnEnds(rig, 2);
  assert.equal(ofType(rig, 'pending_prompt').length, 1);
  rig.say('job', 'touch-b now');
  const [, p2] = await prompts(rig, 2);
  assert.equal(p2.tool.input.command, 'touch b.txt');
  rig.say('job', 'yes');
  await turnEnds(rig, 3);
  const ran = (await rig.records())
    .filter((r) => r.kind === 'tool_ran')
    .map((r) => (r.input as { command: string }).command);
  assert.deepEqual(ran, ['touch a.txt', 'touch a.txt', 'touch b.txt']);
  assert.equal(existsSync(join(rig.workFolder, '.claude')), false, 'nothing written to the project settings');

  // Revoking: gone from thread.yaml and the snapshot; a rule that is not granted is NOT_FOUND.
  await host.revokeGrant(sectionId, 'job', 'Bash(touch a.txt)');
  assert.deepEqual((await rig.threadYaml('job'))?.agent.granted, []);
  await waitSnapshot(host, (s) => s.sections[0].threads[0]?.granted_rules.length === 0, 'revoked in snapshot');
  await assert.rejects(host.revokeGrant(sectionId, 'job', 'Bash(nope)'), { code: 'NOT_FOUND' });
  await host.stop();
});

test('granted rules are handed back when the worker restarts and resumes the Claude session', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  rig.handoff('job');
  const first = rig.host();
  await first.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  rig.say('job', 'touch-a please');
  await prompts(rig, 1);
  rig.say('job', 'always');
  await turnEnds(rig, 1);
  await first.stop();

  const second = rig.host();
  await second.start();
  await waitFor(async () => (await rig.records()).filter((r) => r.kind === 'argv').length === 2, 'respawned');
  const argv = (await rig.records()).filter((r) => r.kind === 'argv')[1].argv as string[];
  assert.ok(argv.includes('--resume'), 'resumed');
  assert.deepEqual(argv.slice(argv.indexOf('--add-dir')), [
    '--add-dir',
    rig.workFolder,
    '--allowedTools',
    'Bash(touch a.txt)',
  ]);
  rig.say('job', 'touch-a after the restart');
  await turnEnds(rig, 2);
  assert.equal(ofType(rig, 'pending_prompt').length, 1, 'no new prompt for the granted command');
  await second.stop();
});

test('/stop from the thread: the open prompt is cancelled (interrupted), the turn ends interrupted, the agent stays', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  rig.say('job', 'touch-a please');
  const [p1] = await prompts(rig, 1);
  rig.say('job', '/stop');
  const ends = await turnEnds(rig, 1);
  assert.equal(meta(ends[0]).interrupted, true);
  assert.match(ends[0].content[0].text!, /^— turn stopped —/);
  const resolved = ofType(rig, 'pending_prompt_resolved').map(meta);
  assert.deepEqual(
    resolved.map((r) => [r.prompt_id, r.resolution, r.reason]),
    [[p1.id, 'cancelled', 'interrupted']],
  );
  // The /stop item reached no one: not an answer, not a turn.
  assert.ok(!(await rig.turnsReceived()).some((t) => t.includes('/stop')));
  assert.equal((await rig.records()).filter((r) => r.kind === 'tool_ran').length, 0);

  rig.say('job', 'hello again');
  await turnEnds(rig, 2);
  const argvs = (await rig.records()).filter((r) => r.kind === 'argv');
  assert.equal(argvs.length, 1, 'one agent process for both turns');
  assert.deepEqual(await rig.turnsReceived(), ['touch-a please', 'hello again']);
  assert.equal(meta(ofType(rig, 'turn_end')[1]).interrupted, undefined);

  // /stop with nothing running says so and changes nothing.
  rig.say('job', '/stop');
  await waitFor(() => ofType(rig, 'status').some((i) => meta(i).status === 'nothing_to_stop'), 'nothing to stop');
  await host.stop();
});

test('WorkerHost.interruptTurn (the desktop Stop): a running turn ends interrupted; the next message is a new turn', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  const sectionId = host.snapshot().sections[0].id;
  await assert.rejects(host.interruptTurn(sectionId, 'job'), { code: 'INVALID_STATE' });
  await assert.rejects(host.interruptTurn(sectionId, 'nope'), { code: 'NOT_FOUND' });
  rig.say('job', 'slow-work now');
  await waitFor(() => rig.items('job').some((i) => i.content[0]?.text === 'working…'), 'turn running');
  await host.interruptTurn(sectionId, 'job');
  const ends = await turnEnds(rig, 1);
  assert.equal(meta(ends[0]).interrupted, true);
  assert.ok(ofType(rig, 'status').some((i) => meta(i).status === 'turn_interrupted'));
  rig.say('job', 'and now?');
  await turnEnds(rig, 2);
  const y = await rig.threadYaml('job');
  assert.equal(y?.agent.state, 'active');
  assert.equal((await rig.records()).filter((r) => r.kind === 'argv').length, 1);
  await host.stop();
});

test('blobhub-worker interrupt (the built CLI) stops the running turn through control.sock (0600)', async (t) => {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  const sock = join(rig.home, 'control.sock');
  assert.equal((await stat(sock)).mode & 0o777, 0o600);
  const sectionId = host.snapshot().sections[0].id;
  const idle = await runCli(['interrupt', sectionId, 'job'], { home: rig.home });
  assert.equal(idle.status, 1);
  assert.match(idle.stderr, /INVALID_STATE/);
  rig.say('job', 'slow-work now');
  await waitFor(() => rig.items('job').some((i) => i.content[0]?.text === 'working…'), 'turn running');
  const r = await runCli(['interrupt', sectionId, 'job', '--json'], { home: rig.home });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { ok: true, section: sectionId, alias: 'job', interrupted: true });
  const ends = await turnEnds(rig, 1);
  assert.equal(meta(ends[0]).interrupted, true);
  await host.stop();
  assert.equal(existsSync(sock), false, 'the socket goes with the worker');
  const none = await runCli(['interrupt', sectionId, 'job'], { home: rig.home });
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no running worker/);
});
