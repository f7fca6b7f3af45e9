/**
 * Crash matrix: the real worker process (`blobhub-worker start`, the built CLI) is SIGKILLed at each named
 * point of a turn, then started again; the thread must recover with nothing lost or duplicated.
 *
 * | point                     | how it is reached deterministically                                                  |
 * |---------------------------|--------------------------------------------------------------------------------------|
 * | before_post               | latency + drop_before on post_session_thread_item: the item is journaled, its post in flight, nothing stored |
 * | after_post_before_cursor  | drop_after: the item is stored, the worker never got the answer; killed before its look-up/`done` line |
 * | open_prompt               | an approval prompt posted and recorded in thread.yaml                                 |
 * | activation                | latency + drop_before on upload_session_object: thread.yaml says active, the agent runs, the envelope is still pending |
 * | shutdown                  | SIGTERM during a slow turn, then SIGKILL while the graceful stop waits for the turn     |
 *
 * After the restart (faults cleared): every emission_id exactly once on the server, the agent's text items in
 * order, no thread falsely failed, the agent given the turn input again when the turn was cut short, an open
 * prompt cancelled with reason worker_restart; the second worker stops cleanly (exit 0) and neither run put a
 * stack trace on stderr. The agent outlives a SIGKILLed worker (its own process group) until its stdin closes;
 * the test kills those groups itself so a replay never races a leftover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { makeRig, waitFor, type Rig } from '../harness/support';
import { assertNoRawException, startWorker, type WorkerProc } from './support';

type Item = ReturnType<Rig['items']>[number];
const meta = (i: Item): Record<string, unknown> => i.metadata ?? {};
const ofType = (rig: Rig, type: string, alias = 'job'): Item[] => rig.items(alias).filter((i) => meta(i).type === type);
/** The agent's text items, without the greeting of the first (completed) turn every test starts with. */
const texts = (rig: Rig): string[] =>
  ofType(rig, 'text')
    .map((i) => i.content[0]?.text ?? '')
    .filter((x) => !x.startsWith('Hello! You said'));

const SCENARIO = {
  markers: {
    THREE: { steps: [{ text: 'one' }, { text: 'two' }, { text: 'three' }] },
    SLOW: { steps: [{ text: 'a' }, { sleep: 2500 }, { text: 'b' }] },
    APPROVE: { steps: [{ tool: { name: 'Bash', input: { command: 'make deploy' } } }, { text: 'deployed' }] },
  },
};

async function agentPids(rig: Rig): Promise<number[]> {
  return (await rig.records()).filter((r) => r.kind === 'argv').map((r) => r.pid as number);
}

/** What a user posted that the agent received as a turn, per agent process (pid → texts). */
async function turnsByProcess(rig: Rig): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (const r of await rig.records()) {
    if (r.kind !== 'stdin' || typeof r.line !== 'string' || !r.line.includes('"type":"user"')) continue;
    const content = (JSON.parse(r.line) as { message: { content: unknown } }).message.content;
    const list = out.get(r.pid as number) ?? [];
    list.push(typeof content === 'string' ? content : JSON.stringify(content));
    out.set(r.pid as number, list);
  }
  return out;
}

interface Run {
  rig: Rig;
  runs: WorkerProc[];
  start(): WorkerProc;
  /** SIGKILL the worker, then the agent groups it left behind. */
  crash(w: WorkerProc): Promise<void>;
}

async function setup(t: { after(fn: () => Promise<void> | void): void }, say?: string): Promise<Run> {
  const rig = await makeRig(t, { realtime: true, scenario: SCENARIO });
  const runs: WorkerProc[] = [];
  const killGroups = async (): Promise<void> => {
    for (const pid of await agentPids(rig)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  t.after(async () => {
    for (const w of runs) await w.kill();
    await killGroups();
  });
  rig.chat('job');
  if (say) rig.say('job', say);
  return {
    rig,
    runs,
    start() {
      const w = startWorker(rig.home, rig.env);
      runs.push(w);
      return w;
    },
    async crash(w) {
      await w.kill();
      await killGroups();
    },
  };
}

/**
 * Hands the thread off with a first message and waits until that first turn is complete and posted: the agent
 * session then exists on disk, so a restart resumes it (the simulator, like the real CLI, persists a session
 * once a turn completed).
 */
async function activeIdle(run: Run): Promise<void> {
  run.rig.say('job', 'hello');
  run.rig.handoff('job');
  await waitFor(() => run.rig.envelopeState('job') === 'active', 'thread active', { timeoutMs: 15_000 });
  await waitFor(() => ofType(run.rig, 'thread_activated', 'worker').length === 1, 'thread_activated posted', {
    timeoutMs: 15_000,
  });
  await waitFor(() => ofType(run.rig, 'turn_end').length === 1, 'first turn done', { timeoutMs: 15_000 });
}

/** thread.yaml's inbound cursor has moved past `itemId` (its turn ended and was recorded). */
async function cursorPast(rig: Rig, itemId: string): Promise<boolean> {
  return (await rig.threadYaml('job'))?.cursors.inbound?.item_id === itemId;
}

/** The invariants after recovery, then a clean SIGTERM stop. */
async function checkRecovered(run: Run, w: WorkerProc): Promise<void> {
  const { rig } = run;
  for (const alias of ['job', 'worker']) {
    const ids = rig
      .items(alias)
      .map((i) => meta(i).emission_id)
      .filter(Boolean);
    assert.equal(
      new Set(ids).size,
      ids.length,
      `${alias}: an emission was posted twice: ${JSON.stringify(rig.kinds(alias))}`,
    );
  }
  assert.equal(ofType(rig, 'thread_failed', 'worker').length, 0, 'no thread falsely failed');
  assert.equal(rig.envelopeState('job'), 'active');
  const r = await w.stop();
  assert.equal(r.status, 0, w.stderr().slice(-3000));
  for (const p of run.runs) {
    assertNoRawException(p.stderr(), 'worker stderr');
    assertNoRawException(p.stdout(), 'worker stdout');
    assert.ok(!p.stderr().includes(rig.worker.api_key), 'the key never reaches the log');
  }
}

test(
  'crash point before_post: the item is journaled and its post in flight → posted once after the restart',
  { timeout: 60_000 },
  async (t) => {
    const run = await setup(t);
    const { rig } = run;
    const w1 = run.start();
    await activeIdle(run);
    rig.emu.control.addFault({ command: 'post_session_thread_item', kind: 'latency', latencyMs: 4000 });
    rig.emu.control.addFault({ command: 'post_session_thread_item', kind: 'drop_before' });
    const said = rig.say('job', 'THREE please');
    const journal = rig.paths.job(rig.ref.session_id).threadOutbox('job');
    await waitFor(
      async () => (await readFile(journal, 'utf8').catch(() => '')).includes('"turn_end"'),
      'the turn journaled',
      { intervalMs: 5 },
    );
    await waitFor(() => cursorPast(rig, said), 'the turn recorded as delivered', { intervalMs: 5 });
    assert.deepEqual(texts(rig), [], 'nothing stored yet');
    await run.crash(w1);
    rig.emu.control.clearFaults();

    const w2 = run.start();
    await waitFor(() => texts(rig).length >= 3 && ofType(rig, 'turn_end').length >= 2, 'the journaled items posted', {
      timeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(texts(rig), ['one', 'two', 'three'], 'in order, once');
    assert.equal(ofType(rig, 'turn_end').length, 2);
    assert.equal((await turnsByProcess(rig)).size, 1, 'the turn had ended: nothing given to the agent again');
    await checkRecovered(run, w2);
  },
);

test(
  'crash point after_post_before_cursor: the item is stored but unconfirmed → found by the look-up, never reposted',
  { timeout: 60_000 },
  async (t) => {
    const run = await setup(t);
    const { rig } = run;
    const w1 = run.start();
    await activeIdle(run);
    rig.emu.control.addFault({ command: 'post_session_thread_item', kind: 'drop_after', times: 1 });
    rig.emu.control.addFault({ command: 'post_session_thread_item', kind: 'latency', latencyMs: 4000 });
    rig.emu.control.addFault({ command: 'post_session_thread_item', kind: 'drop_before' });
    // Item lists answer 4 s late: the retry's look-up (after ≥ 400 ms of backoff) is held that long, so the kill
    // below lands before it on a loaded machine too (the turn itself is delivered 4 s late as well).
    rig.emu.control.addFault({ command: 'list_session_thread_items', kind: 'latency', latencyMs: 4000 });
    const said = rig.say('job', 'THREE please');
    // The first post is stored and its connection dropped; the turn ends and its cursor is written within a few
    // ms, while the look-up that would find the stored item is still held.
    await waitFor(
      async () => texts(rig).length === 1 && (await cursorPast(rig, said)),
      'the first item stored (answer lost), the turn recorded',
      { intervalMs: 2, timeoutMs: 15_000 },
    );
    await run.crash(w1);
    const journal = await readFile(rig.paths.job(rig.ref.session_id).threadOutbox('job'), 'utf8');
    const stored = ofType(rig, 'text').find((i) => i.content[0]?.text === 'one')!;
    assert.ok(
      journal.includes(String(meta(stored).emission_id)),
      'the stored emission is still unconfirmed in the journal',
    );
    assert.ok(!journal.includes(`"op":"done","id":"${String(meta(stored).emission_id)}"`), 'no done line for it');
    rig.emu.control.clearFaults();

    const w2 = run.start();
    await waitFor(() => texts(rig).length >= 3 && ofType(rig, 'turn_end').length >= 2, 'the rest posted', {
      timeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(texts(rig), ['one', 'two', 'three'], 'in order, once');
    await checkRecovered(run, w2);
  },
);

test(
  'crash point open_prompt: the prompt is cancelled with worker_restart, the turn input is given again, the agent re-asks',
  { timeout: 60_000 },
  async (t) => {
    const run = await setup(t);
    const { rig } = run;
    const w1 = run.start();
    await activeIdle(run);
    rig.say('job', 'APPROVE this');
    await waitFor(() => ofType(rig, 'pending_prompt').length === 1, 'prompt posted', { timeoutMs: 15_000 });
    const promptId = (meta(ofType(rig, 'pending_prompt')[0]).prompt as { id: string }).id;
    await waitFor(
      async () => (await rig.threadYaml('job'))?.open_prompt?.posted_item_id,
      'prompt recorded with its item',
    );
    await run.crash(w1);

    const w2 = run.start();
    await waitFor(() => ofType(rig, 'pending_prompt').length === 2, 'the agent re-asks', { timeoutMs: 20_000 });
    const resolved = ofType(rig, 'pending_prompt_resolved').map(meta);
    assert.deepEqual(
      resolved.map((m) => [m.prompt_id, m.resolution, m.reason]),
      [[promptId, 'cancelled', 'worker_restart']],
    );
    rig.say('job', 'yes');
    await waitFor(() => texts(rig).includes('deployed'), 'turn finished', { timeoutMs: 15_000 });
    const pids = await agentPids(rig);
    const turns = await turnsByProcess(rig);
    assert.deepEqual(
      turns.get(pids[1]),
      ['APPROVE this'],
      'the cut-short turn input, given again to the resumed agent',
    );
    assert.equal((await rig.records()).filter((r) => r.kind === 'tool_ran').length, 1, 'the tool ran once');
    await checkRecovered(run, w2);
  },
);

test(
  'crash point activation: thread.yaml active and the agent started, the envelope still pending → activated once',
  { timeout: 60_000 },
  async (t) => {
    const run = await setup(t, 'hello');
    const { rig } = run;
    const w1 = run.start();
    await w1.waitLog((l) => l.event === 'section_attached', 'attached');
    rig.emu.control.addFault({ command: 'upload_session_object', kind: 'latency', latencyMs: 4000, times: 1 });
    rig.emu.control.addFault({ command: 'upload_session_object', kind: 'drop_before', times: 1 });
    rig.handoff('job');
    await waitFor(
      async () => {
        const f = await rig.threadYaml('job');
        return f?.agent.state === 'active' && f.agent.agent_session_id && (await agentPids(rig)).length === 1;
      },
      'thread.yaml active and the agent spawned',
      { intervalMs: 5, timeoutMs: 15_000 },
    );
    assert.equal(rig.envelopeState('job'), 'pending', 'the envelope write is still in flight');
    await run.crash(w1);
    rig.emu.control.clearFaults();

    const w2 = run.start();
    const greetings = (): number =>
      ofType(rig, 'text').filter((i) => i.content[0]?.text === 'Hello! You said: hello').length;
    await waitFor(() => greetings() === 1, 'the first turn answered', { timeoutMs: 20_000 });
    // thread_activated goes through the worker thread's own outbox, not ordered with the job thread's items.
    await waitFor(() => ofType(rig, 'thread_activated', 'worker').length >= 1, 'thread_activated posted');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(ofType(rig, 'thread_activated', 'worker').length, 1, 'activated once');
    assert.equal(greetings(), 1, 'the first turn ran once');
    // The first agent never completed a turn, so its session cannot be resumed: a fresh one, said in the thread.
    assert.deepEqual(
      ofType(rig, 'status').map((i) => meta(i).status),
      ['resume_failed_started_fresh'],
    );
    await checkRecovered(run, w2);
  },
);

test(
  'crash point shutdown: SIGKILL while a graceful stop waits for a slow turn → the cut-short turn is given again',
  { timeout: 60_000 },
  async (t) => {
    const run = await setup(t);
    const { rig } = run;
    // The first run's agent pauses far longer than this test takes, and is frozen once `a` is posted: its turn
    // cannot end (nor answer the stop's interrupt) before the kill, however slow the machine. The replay after
    // the restart uses the usual 2.5 s pause.
    await rig.setScenario({
      markers: { ...SCENARIO.markers, SLOW: { steps: [{ text: 'a' }, { sleep: 120_000 }, { text: 'b' }] } },
    });
    const w1 = run.start();
    await activeIdle(run);
    rig.say('job', 'SLOW please');
    await waitFor(() => texts(rig).includes('a'), 'first half of the turn posted', { timeoutMs: 15_000 });
    const [agent] = await agentPids(rig);
    process.kill(agent, 'SIGSTOP');
    await rig.setScenario(SCENARIO);
    w1.child.kill('SIGTERM');
    await w1.waitLog((l) => l.event === 'stopping', 'graceful stop begun');
    await run.crash(w1);
    assert.equal(ofType(rig, 'turn_end').length, 1, 'the slow turn never ended');

    const w2 = run.start();
    await waitFor(
      () => texts(rig).includes('b') && ofType(rig, 'turn_end').length === 2,
      'the turn ran again to its end',
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(
      texts(rig),
      ['a', 'a', 'b'],
      'the first run’s item kept, the replayed turn complete, nothing twice',
    );
    const pids = await agentPids(rig);
    assert.deepEqual((await turnsByProcess(rig)).get(pids.at(-1)!), ['SLOW please'], 'the input given again');
    await checkRecovered(run, w2);
  },
);

test(
  'clean SIGTERM with an idle active thread exits promptly (no shutdown bound left running)',
  { timeout: 60_000 },
  async (t) => {
    const run = await setup(t);
    const w1 = run.start();
    await activeIdle(run);
    const t0 = Date.now();
    const r = await w1.stop();
    const ms = Date.now() - t0;
    assert.equal(r.status, 0, w1.stderr().slice(-2000));
    // The 5 s drain bound must not keep the process alive after "stopped".
    assert.ok(ms < 4500, `exited ${ms} ms after SIGTERM`);
  },
);
