/**
 * A thread envelope that looks like a handoff but is not a job (protocol §6.1: value.type thread, alias ≠ worker,
 * a value.thread.metadata.instance.state) is still not a job — but it is not ignored silently: the section
 * logs one `envelope_ignored` warning per alias + shape, to section.log and to the worker's log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createLogger, type LogRecord } from '../../main/core/log';
import { diagnoseNonJob, parseJob } from '../../main/core/harness/handoff';
import { makeRig, waitFor } from './support';

const env = (alias: string, value: Record<string, unknown>) => ({ alias, value }) as never;

test('diagnoseNonJob names what a handoff-looking thread lacks; plain chat threads, jobs and other objects get nothing', () => {
  const noWrapper = diagnoseNonJob(env('a', { type: 'thread', metadata: { instance: { state: 'pending' } } }));
  assert.equal(noWrapper?.missing, 'value.thread.metadata.instance.state');
  assert.match(noWrapper.message, /instance found at value\.metadata \(value\.thread is missing\)/);

  const topLevel = diagnoseNonJob(env('a', { type: 'thread', instance: { state: 'pending' }, workspace: {} }));
  assert.match(topLevel!.message, /instance, workspace found at the top level of value/);

  const noMetadata = diagnoseNonJob(
    env('a', { type: 'thread', thread: { instance: { state: 'pending' }, agent: {} } }),
  );
  assert.match(noMetadata!.message, /instance, agent found at value\.thread \(outside its metadata\)/);

  const noState = diagnoseNonJob(
    env('a', { type: 'thread', thread: { metadata: { workspace: { work_folder: '/x' }, instance: {} } } }),
  );
  assert.equal(noState?.shape, 'no_state');
  const noInstance = diagnoseNonJob(env('a', { type: 'thread', thread: { metadata: { agent: { type: 'codex' } } } }));
  assert.equal(noInstance?.shape, 'no_instance');
  const stringInstance = diagnoseNonJob(env('a', { type: 'thread', thread: { metadata: { instance: 'pending' } } }));
  assert.equal(stringInstance?.shape, 'instance_not_object');
  const numberState = diagnoseNonJob(env('a', { type: 'thread', thread: { metadata: { instance: { state: 1 } } } }));
  assert.equal(numberState?.shape, 'state_not_string');
  const badWorkspace = diagnoseNonJob(
    env('a', { type: 'thread', thread: { metadata: { workspace: '/x', instance: { state: 'pending' } } } }),
  );
  assert.equal(badWorkspace?.shape, 'malformed:workspace');

  // Quietly not jobs, and jobs: no diagnosis.
  assert.equal(
    diagnoseNonJob(env('a', { type: 'thread', thread: { attributes: { name: 'chat' }, metadata: {} } })),
    null,
  );
  assert.equal(diagnoseNonJob(env('a', { type: 'thread', thread: { attributes: { name: 'chat' } } })), null);
  assert.equal(diagnoseNonJob(env('a', { type: 'note', metadata: { instance: { state: 'pending' } } })), null);
  assert.equal(diagnoseNonJob(env('worker', { type: 'thread', metadata: { instance: { state: 'pending' } } })), null);
  const job = env('a', { type: 'thread', thread: { metadata: { instance: { state: 'pending' } } } });
  assert.ok(parseJob(job));
  assert.equal(diagnoseNonJob(job), null);
  // Diagnosis never changes which objects are jobs.
  assert.equal(parseJob(env('a', { type: 'thread', metadata: { instance: { state: 'pending' } } })), null);
});

test('a handoff without the thread wrapper is logged once (section.log + worker log), stays not a job; a good one still runs', async (t) => {
  const rig = await makeRig(t, { idleMs: 50, activeMs: 50 });
  const records: LogRecord[] = [];
  const logger = createLogger({ sinks: [(r) => records.push(r)] });
  const wrong = {
    type: 'thread',
    metadata: {
      workspace: { work_folder: rig.workFolder },
      agent: { type: 'claude_code' },
      instance: { state: 'pending' },
    },
  };
  rig.emu.control.uploadObject(rig.human.user_id, rig.ref, 'wrong', wrong);
  rig.chat('chat');
  rig.handoff('good');

  const host = rig.host({ logger });
  await host.start();
  await waitFor(() => rig.envelopeState('good', rig.ref) === 'active', 'the well-formed handoff runs');
  const ignored = () => records.filter((r) => r.event === 'envelope_ignored');
  await waitFor(() => ignored().length > 0, 'envelope_ignored logged');
  const reconciles = records.filter((r) => r.event === 'poll_cadence').length;
  await new Promise((r) => setTimeout(r, 400)); // several reconcile rounds see the same envelope again
  assert.ok(reconciles >= 1);

  const warnings = ignored();
  assert.equal(warnings.length, 1, 'once per alias + shape, not once per reconcile');
  const w = warnings[0];
  assert.equal(w.level, 'warning');
  assert.equal(w.thread, 'wrong');
  assert.equal(w.missing, 'value.thread.metadata.instance.state');
  assert.match(w.msg, /wrong/);
  assert.match(w.msg, /value\.thread is missing/);
  assert.equal(w.code, undefined, 'code-less: not a worker error');

  // Still not a job: untouched on the server, no runner, not in the snapshot.
  assert.deepEqual(rig.emu.control.getObject(rig.ref, 'wrong')?.value, wrong);
  const aliases = host.snapshot().sections[0].threads.map((th) => th.alias);
  assert.ok(!aliases.includes('wrong') && !aliases.includes('chat'), `snapshot threads: ${aliases.join(',')}`);

  // section.log is written through a stream: the line lands a moment after the in-memory record.
  const ignoredInFile = async (): Promise<LogRecord[]> => {
    const text = await readFile(rig.paths.job(rig.ref.session_id).sectionLog, 'utf8').catch(() => '');
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogRecord)
      .filter((r) => r.event === 'envelope_ignored');
  };
  const inFile = await waitFor(async () => {
    const lines = await ignoredInFile();
    return lines.length > 0 ? lines : null;
  }, 'envelope_ignored in section.log');
  assert.equal(inFile.length, 1);
  assert.equal(inFile[0].thread, 'wrong');

  // A different wrong shape for the same alias is a new warning; the plain chat thread never warns.
  rig.emu.control.uploadObject(rig.human.user_id, rig.ref, 'wrong', {
    type: 'thread',
    thread: { metadata: { agent: { type: 'codex' } } },
  });
  await waitFor(() => ignored().length === 2, 'second shape logged');
  assert.equal(ignored()[1].shape, 'no_instance');
  assert.ok(!records.some((r) => r.event === 'envelope_ignored' && r.thread === 'chat'));
});
