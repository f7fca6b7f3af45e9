/**
 * Trust in the harness (docs/reliability.md "Trust: the harness"): a failed local write mid-thread fails that
 * thread with a named code while the worker and the other threads go on (never an unhandled rejection); an
 * answer that reaches a prompt the agent already withdrew is reported as not answered, from the thread and from
 * the desktop; a deleted thread's runner is dropped; section logs give their descriptors back over reloads; a
 * snapshot problem is logged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { agentTexts, makeRig, threadOf, waitFor, waitSnapshot, type Rig } from '../harness/support';
import { createAgentSession } from '../../main/core/agents/index';
import type { AgentEvent, AgentEventListener, AgentFactory } from '../../main/core/agents/types';
import { writeYamlAtomic } from '../../main/core/state/yaml-file';
import { createLogger, type LogRecord } from '../../main/core/log';
import type { StateFileWriter } from '../../main/core/harness/local-state';

type Item = ReturnType<Rig['items']>[number];
const meta = (i: Item): Record<string, unknown> => i.metadata ?? {};

/** Records every unhandled rejection while a test runs (the test fails on any). */
function watchUnhandled(t: { after(fn: () => void): void }): unknown[] {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  t.after(() => {
    process.off('unhandledRejection', onRejection);
  });
  return seen;
}

test('a thread.yaml write failing mid-thread fails that thread with STATE_IO_ERROR; the worker and the other thread go on', async (t) => {
  const unhandled = watchUnhandled(t);
  const rig = await makeRig(t);
  const bPath = rig.paths.job(rig.ref.session_id).threadYaml('b');
  let failB = false;
  const writeStateFile: StateFileWriter = async (path, value) => {
    if (failB && path === bPath) {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    await writeYamlAtomic(path, value);
  };
  rig.handoff('a');
  rig.handoff('b');
  const host = rig.host({ writeStateFile });
  await host.start();
  await waitSnapshot(
    host,
    (s) => threadOf(s, 'a')?.state === 'active_idle' && threadOf(s, 'b')?.state === 'active_idle',
    'both threads running',
  );

  failB = true;
  rig.say('b', 'hello b'); // the turn's end writes the inbound cursor to b's thread.yaml: that write fails
  await waitFor(() => rig.envelopeState('b') === 'failed', 'b failed on the server');
  await waitSnapshot(
    host,
    (s) => threadOf(s, 'b')?.last_error?.code === 'STATE_IO_ERROR' && s.agents.busy === 1,
    "b's code in the snapshot, its slot released",
  );
  await waitFor(
    () =>
      rig
        .items('worker')
        .some(
          (i) =>
            meta(i).type === 'thread_failed' &&
            meta(i).alias === 'b' &&
            (meta(i).error as { code?: string } | undefined)?.code === 'STATE_IO_ERROR',
        ),
    'thread_failed activity item with the code',
  );

  rig.say('a', 'hello a');
  await waitFor(() => agentTexts(rig, 'a').length > 0, 'a still answers');
  assert.equal(rig.envelopeState('a'), 'active');
  assert.equal(host.snapshot().phase, 'running');
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});

/**
 * An agent factory whose sessions hold back a `prompt_cancelled` event, and every event after it (in order),
 * while `gate.hold` is set: the runner lags behind an adapter that has already withdrawn its prompt.
 */
function withheldWithdrawals(): { factory: AgentFactory; gate: { hold: boolean; held: number; release(): void } } {
  const parked: Array<() => void> = [];
  const gate = {
    hold: true,
    held: 0,
    release(): void {
      gate.hold = false;
      for (const deliver of parked.splice(0)) deliver();
    },
  };
  const factory: AgentFactory = (type, options) => {
    const real = createAgentSession(type, options);
    return new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'onEvent') {
          return (listener: AgentEventListener) =>
            target.onEvent((event: AgentEvent) => {
              if (gate.hold && (event.type === 'prompt_cancelled' || parked.length > 0)) {
                if (event.type === 'prompt_cancelled') gate.held++;
                parked.push(() => listener(event));
                return;
              }
              listener(event);
            });
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return { factory, gate };
}

const WITHDRAW = {
  markers: {
    'withdraw-it': {
      steps: [{ tool: { name: 'Bash', input: { command: 'make' }, cancelAfterMs: 300 } }, { text: 'moved on' }],
    },
  },
};

function resolutions(rig: Rig, promptId: string): Array<Record<string, unknown>> {
  return rig
    .items('job')
    .map(meta)
    .filter((m) => m.type === 'pending_prompt_resolved' && m.prompt_id === promptId);
}

test('an answer that reaches a prompt the agent already withdrew: desktop → error, thread says cancelled', async (t) => {
  const rig = await makeRig(t, { scenario: WITHDRAW });
  const { factory, gate } = withheldWithdrawals();
  rig.handoff('job');
  const host = rig.host({ agentFactory: factory });
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  rig.say('job', 'withdraw-it');
  await waitSnapshot(host, (s) => s.prompts.length === 1, 'prompt open');
  const promptId = host.snapshot().prompts[0].id;
  await waitFor(() => gate.held === 1, 'the agent withdrew the prompt (the runner has not seen it yet)');

  await assert.rejects(
    host.answerPrompt(promptId, { kind: 'approval', decision: 'allow' }),
    (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && /withdrawn/.test(e.message),
  );
  gate.release();
  await waitFor(() => resolutions(rig, promptId).length === 1, 'resolution posted');
  assert.equal(resolutions(rig, promptId)[0].resolution, 'cancelled');
  await waitFor(() => agentTexts(rig, 'job').includes('moved on'), 'the agent went on');
  assert.equal(resolutions(rig, promptId).length, 1, 'one resolution only');
});

test('an answer that reaches a prompt the agent already withdrew: a thread reply is reported cancelled', async (t) => {
  const rig = await makeRig(t, { scenario: WITHDRAW });
  const { factory, gate } = withheldWithdrawals();
  rig.handoff('job');
  const host = rig.host({ agentFactory: factory });
  await host.start();
  await waitFor(() => rig.envelopeState('job') === 'active', 'active');
  rig.say('job', 'withdraw-it');
  await waitFor(async () => (await rig.threadYaml('job'))?.open_prompt?.posted_item_id, 'prompt posted');
  const promptId = (await rig.threadYaml('job'))!.open_prompt!.id;
  await waitFor(() => gate.held === 1, 'the agent withdrew the prompt (the runner has not seen it yet)');

  rig.say('job', 'yes');
  await waitFor(() => resolutions(rig, promptId).length === 1, 'resolution posted');
  assert.equal(resolutions(rig, promptId)[0].resolution, 'cancelled');
  assert.equal(resolutions(rig, promptId)[0].answered_via, undefined);
  gate.release();
  await waitFor(() => agentTexts(rig, 'job').includes('moved on'), 'the agent went on');
  assert.equal(resolutions(rig, promptId).length, 1, 'one resolution only');
});

test('a deleted thread leaves the snapshot (its runner is dropped); the same alias handed off again runs', async (t) => {
  const rig = await makeRig(t);
  rig.handoff('job');
  const host = rig.host();
  await host.start();
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'active_idle', 'running');
  rig.emu.control.deleteObject(rig.ref, 'job');
  await waitSnapshot(host, (s) => !threadOf(s, 'job') && s.agents.busy === 0, 'dropped from the snapshot');
  rig.handoff('job');
  await waitSnapshot(host, (s) => threadOf(s, 'job')?.state === 'active_idle', 'running again');
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

test('100 config reloads: the section logs give their descriptors back (no fd growth)', async (t) => {
  const rig = await makeRig(t, { sections: 1 });
  const host = rig.host();
  await host.start();
  const attached = (): boolean => {
    const s = host.snapshot();
    return s.phase === 'running' && s.sections.length === 2 && s.sections.every((x) => x.attachment === 'attached');
  };
  await waitFor(attached, 'attached');
  for (let i = 0; i < 3; i++) {
    await host.reloadConfig(); // warm-up: sockets, lazily opened files
    await waitFor(attached, 'attached after a warm-up reload');
  }
  const before = openFds();
  for (let i = 0; i < 100; i++) {
    await host.reloadConfig();
    await waitFor(attached, `attached after reload ${i + 1}`);
  }
  const after = openFds();
  t.diagnostic(`open fds: ${before} before, ${after} after 100 reloads (2 sections)`);
  assert.ok(after - before < 10, `fds grew from ${before} to ${after}`);
  const log = await readFile(rig.paths.job(rig.ref.session_id).sectionLog, 'utf8');
  assert.ok(log.split('\n').filter((l) => l.includes('"section_attached"')).length >= 100, 'section.log still written');
});

test('a snapshot listener that throws (a schema the shell refuses) is logged, not silent', async (t) => {
  const rig = await makeRig(t);
  const records: LogRecord[] = [];
  const logger = createLogger({ sinks: [(r) => void records.push(r)] });
  const host = rig.host({ logger });
  host.onChange(() => {
    throw new Error('Invalid input: expected string, received number at sections.0.name');
  });
  await host.start();
  await waitFor(() => records.some((r) => r.event === 'snapshot_listener_failed'), 'logged');
  assert.equal(records.filter((r) => r.event === 'snapshot_listener_failed').length, 1, 'once per distinct problem');
});
