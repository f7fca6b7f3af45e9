import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { textItem, toolResultItem } from '../../main/core/harness/outbound/items';
import { ThreadLog } from '../../main/core/agents/thread-log';
import { isWorkerError } from '../../main/core/errors';
import { ALIAS, postsLanded, withRig, within } from './support';
import { ROOT, waitExit, waitFor } from '../support/process';
import { spawn } from 'node:child_process';

const journalLines = async (path: string): Promise<Array<Record<string, unknown>>> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('60 emissions through ~30 % failing posts (500, 429, drop_before, drop_after): each once, in order', () =>
  withRig({ seed: 11 }, async (rig) => {
    const c = rig.emu.control;
    // One deterministic ambiguous failure of each kind up front, then random ones.
    c.addFault({ command: 'post_session_thread_item', kind: 'drop_after', times: 1 });
    c.addFault({ command: 'post_session_thread_item', kind: 'rate_limit', retryAfterSec: 1, times: 1 });
    c.addFault({ command: 'post_session_thread_item', kind: 'drop_before', times: 1 });
    c.addFault({ command: 'post_session_thread_item', kind: 'status', status: 500, times: 1 });
    c.addFault({ command: 'post_session_thread_item', kind: 'drop_after', probability: 0.1 });
    c.addFault({ command: 'post_session_thread_item', kind: 'status', status: 503, probability: 0.1 });
    c.addFault({ command: 'post_session_thread_item', kind: 'drop_before', probability: 0.07 });
    c.addFault({ command: 'post_session_thread_item', kind: 'rate_limit', retryAfterSec: 0, probability: 0.05 });
    c.addFault({ command: 'list_session_thread_items', kind: 'status', status: 502, probability: 0.2 });

    const posted: string[] = [];
    const outbox = await rig.open({ onPosted: (p) => posted.push(p.emissionId) });
    const started = Date.now();
    const enqueued = Array.from({ length: 60 }, (_, i) => outbox.enqueue(textItem(`message ${i}`)));
    assert.equal(new Set(enqueued.map((e) => e.emissionId)).size, 60, 'emission ids unique');
    const results = await within(Promise.all(enqueued.map((e) => e.posted)), 60_000, 'all posted');
    await outbox.drain();
    const elapsed = Date.now() - started;

    const ids = enqueued.map((e) => e.emissionId);
    assert.deepEqual(rig.emissionIds(), ids, 'exactly once, in emission order');
    assert.deepEqual(
      rig.items().map((i) => (i.content[0] as { text: string }).text),
      ids.map((_, i) => `message ${i}`),
    );
    assert.deepEqual(posted, ids);
    assert.deepEqual(
      results.map((r) => r.metadata?.emission_id),
      ids,
    );
    assert.equal(outbox.pending, 0);
    assert.equal(rig.fatal.length, 0);

    // The faults really fired: more post requests than items, stored-but-dropped posts were found by a look-up.
    const counters = c.counters();
    const postRequests = counters.byCommand.post_session_thread_item ?? 0;
    assert.ok(postRequests >= 60 + 4, `post requests: ${postRequests}`);
    const failRate =
      rig.transient.filter((e) => e.details?.command === 'post_session_thread_item' || /post_session/.test(e.message))
        .length / postRequests;
    assert.ok(failRate > 0.15, `failure rate ${failRate}`);
    const found = rig.logs.filter((r) => r.event === 'outbox_lookup').reduce((n, r) => n + Number(r.found), 0);
    assert.ok(found >= 1, 'a drop_after item was found on the server instead of being posted twice');
    assert.ok(elapsed >= 900, `Retry-After of 1 s honoured (took ${elapsed} ms)`);
    // Everything confirmed: the journal is compacted to the cursor line.
    const lines = await journalLines(rig.journalPath);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].op, 'cursor');
    assert.equal(lines[0].item_id, rig.items().at(-1)!.id);
    await outbox.close();
  }));

test('replay of a crashed run: stored-but-not-marked items are not posted again, missing ones are, torn line ignored', () =>
  // Page size 2: the look-up has to page back past the human's item to the last confirmed one.
  withRig({ pageSize: 2 }, async (rig) => {
    const c = rig.emu.control;
    const a = textItem('a: confirmed before the crash');
    const b = textItem('b: stored, but the crash came before its done record');
    const d = textItem('d: never reached the server');
    const e = textItem('e: never reached the server either');
    const stored = c.postItem(rig.userId, rig.ref, ALIAS, a.content, a.metadata);
    // A human wrote in between: the look-up must page past it.
    c.postItem(rig.userId, rig.ref, ALIAS, [{ type: 'text', text: 'human' }]);
    c.postItem(rig.userId, rig.ref, ALIAS, b.content, b.metadata);
    const emit = (item: typeof a): string =>
      JSON.stringify({ op: 'emit', id: item.metadata!.emission_id, at: '2026-01-01T00:00:00Z', item });
    const journal = [
      emit(a),
      JSON.stringify({ op: 'done', id: a.metadata!.emission_id, item_id: stored.id, created_at: stored.created_at }),
      emit(b),
      '{"op":"emit","id":42}', // a bad middle line: skipped with a warning, nothing else lost
      emit(d),
      emit(e),
      emit(textItem('f: torn')).slice(0, 40), // kill -9 mid-append
    ].join('\n');
    await mkdir(dirname(rig.journalPath), { recursive: true });
    await writeFile(rig.journalPath, journal);

    const outbox = await rig.open();
    assert.equal(outbox.pending, 3);
    await within(outbox.drain(), 20_000, 'replay drained');
    const texts = rig.items().map((i) => (i.content[0] as { text: string }).text);
    assert.deepEqual(texts, [
      'a: confirmed before the crash',
      'human',
      'b: stored, but the crash came before its done record',
      'd: never reached the server',
      'e: never reached the server either',
    ]);
    assert.ok(rig.logs.some((r) => r.event === 'outbox_journal_torn_line' && r.level === 'warning'));
    assert.ok(rig.logs.some((r) => r.event === 'outbox_journal_bad_line' && r.line === 4));
    assert.equal(rig.fatal.length, 0);
    // New emissions go after the replayed ones.
    const next = outbox.enqueue(textItem('g: after replay'));
    await within(next.posted, 10_000, 'g posted');
    assert.equal((rig.items().at(-1)!.content[0] as { text: string }).text, 'g: after replay');
    const workerIds = rig.emissionIds().filter((id) => id.startsWith('em_'));
    assert.equal(workerIds.length, 5);
    assert.equal(new Set(workerIds).size, 5);
    await outbox.close();
  }));

test('an outbox abandoned mid-way (posts in flight) is finished by the next one: nothing lost, nothing twice', () =>
  withRig({ seed: 3 }, async (rig) => {
    const c = rig.emu.control;
    c.addFault({ command: 'post_session_thread_item', kind: 'latency', latencyMs: 60 });
    const first = await rig.open();
    const ids = Array.from({ length: 15 }, (_, i) => first.enqueue(textItem(`item ${i}`)).emissionId);
    await within(
      (async () => {
        while (first.pending > 10) await new Promise((r) => setTimeout(r, 5));
      })(),
      10_000,
      'some posted',
    );
    // Abandon the post in flight at once: the server may or may not store it.
    await first.close({ graceMs: 0 });
    assert.ok(first.pending > 0);
    await assert.rejects(first.drain(), (e: unknown) => isWorkerError(e, 'OUTBOX_CLOSED'));
    assert.throws(
      () => first.enqueue(textItem('late')),
      (e: unknown) => isWorkerError(e, 'OUTBOX_CLOSED'),
    );
    // Let the abandoned request land on the server (it was mid-latency) before the next run looks.
    await postsLanded(rig);
    c.clearFaults();
    const second = await rig.open();
    await within(second.drain(), 20_000, 'second drained');
    assert.deepEqual(rig.emissionIds(), ids);
    await second.close();
  }));

test('THREAD_POST_FAILED after 3 API_COMMAND_FAILED answers; posting stops, the journal is kept', () =>
  withRig({}, async (rig) => {
    // No envelope under this alias: the server answers 400 invalid_thread_envelope every time.
    const outbox = await rig.open({ alias: 'no_such_thread' });
    const one = outbox.enqueue(textItem('one'));
    const two = outbox.enqueue(textItem('two'));
    await assert.rejects(within(one.posted, 10_000, 'failure'), (e: unknown) => isWorkerError(e, 'THREAD_POST_FAILED'));
    await assert.rejects(two.posted, (e: unknown) => isWorkerError(e, 'THREAD_POST_FAILED'));
    assert.equal(rig.fatal.length, 1);
    assert.equal(rig.fatal[0].code, 'THREAD_POST_FAILED');
    assert.ok(!rig.fatal[0].message.includes('\n    at '), 'no stack trace');
    assert.equal(rig.emu.control.counters().byCommand.post_session_thread_item, 3);
    assert.equal(rig.transient.length, 2, 'the first two answers were reported as transient');
    await assert.rejects(outbox.drain(), (e: unknown) => isWorkerError(e, 'THREAD_POST_FAILED'));
    const lines = await journalLines(rig.journalPath);
    // The refused item is marked (test/outbound/refused.test.ts covers what the next open does with it).
    assert.deepEqual(
      lines.map((l) => l.op),
      ['emit', 'emit', 'refused'],
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rig.emu.control.counters().byCommand.post_session_thread_item, 3, 'nothing more was posted');
    await outbox.close();
  }));

test('THREAD_POST_FAILED when posting still fails at the deadline', () =>
  withRig({}, async (rig) => {
    rig.emu.control.addFault({ command: 'post_session_thread_item', kind: 'status', status: 500 });
    const outbox = await rig.open({ postDeadlineMs: 700 });
    const started = Date.now();
    const { posted } = outbox.enqueue(textItem('doomed'));
    await assert.rejects(within(posted, 10_000, 'deadline'), (e: unknown) => isWorkerError(e, 'THREAD_POST_FAILED'));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 650 && elapsed < 5_000, `${elapsed} ms`);
    assert.match(rig.fatal[0].message, /after \d+ s of retries/);
    assert.ok(rig.transient.length >= 3, 'several retries happened');
    assert.ok(rig.transient.every((e) => e.code === 'API_TRANSIENT_ERROR'));
    assert.equal(rig.items().length, 0);
    await outbox.close();
  }));

test('thread_item_too_large: one re-fit to a smaller budget, then THREAD_ITEM_TOO_LARGE; thread.log keeps the full payload', () =>
  withRig({ itemSizeCap: 120_000 }, async (rig) => {
    const threadLog = new ThreadLog(join(rig.dir, 'thread.log'));
    const outbox = await rig.open({ threadLog });
    // 200 kB fits the 350 KiB budget but not the server's 120 kB cap: the re-fit (quarter budget) gets through.
    const output = Array.from({ length: 10_000 }, (_, i) => `row ${i} ${'.'.repeat(10)}`).join('\n');
    const big = outbox.enqueue(toolResultItem('tu_1', output, false));
    const stored = await within(big.posted, 10_000, 'refit posted');
    assert.ok(stored.metadata?.truncated, 'posted truncated');
    assert.match(
      String((stored.metadata.tool as { output: string }).output),
      /bytes truncated; full text in thread\.log/,
    );

    rig.emu.control.setItemSizeCap(2_000);
    const huge = outbox.enqueue(textItem('z'.repeat(500_000)));
    await assert.rejects(within(huge.posted, 10_000, 'too large'), (e: unknown) =>
      isWorkerError(e, 'THREAD_ITEM_TOO_LARGE'),
    );
    assert.equal(rig.fatal.length, 1);
    assert.equal(rig.fatal[0].code, 'THREAD_ITEM_TOO_LARGE');
    threadLog.close();
    const records = (await readFile(join(rig.dir, 'thread.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const truncated = records.filter((r) => r.event === 'outbox_item_truncated');
    assert.ok(
      truncated.some((r) => r.item.metadata.tool.output === output),
      'full tool output in thread.log',
    );
    const rejected = records.find((r) => r.event === 'outbox_item_rejected');
    assert.equal(rejected.code, 'THREAD_ITEM_TOO_LARGE');
    assert.equal(rejected.item.content[0].text, 'z'.repeat(500_000));
    assert.ok(records.every((r) => typeof r.ts === 'string' && r.src === 'worker'));
    await outbox.close();
  }));

test('a journal with only a torn line opens cleanly and is rewritten', () =>
  withRig({}, async (rig) => {
    await mkdir(dirname(rig.journalPath), { recursive: true });
    await writeFile(rig.journalPath, '{"op":"emit","id":"em_x","item":{"cont');
    const outbox = await rig.open();
    assert.equal(outbox.pending, 0);
    assert.ok(rig.logs.some((r) => r.event === 'outbox_journal_torn_line'));
    assert.equal(await readFile(rig.journalPath, 'utf8'), '');
    const { posted } = outbox.enqueue(textItem('fine'));
    await within(posted, 10_000, 'posted');
    assert.equal(rig.items().length, 1);
    await outbox.close();
  }));

test('kill -9 of a process mid-stream: the next run posts every accepted emission once, in order', () =>
  withRig({ seed: 5 }, async (rig) => {
    const c = rig.emu.control;
    c.addFault({ command: 'post_session_thread_item', kind: 'latency', latencyMs: 15 });
    c.addFault({ command: 'post_session_thread_item', kind: 'drop_after', probability: 0.2 });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'test/outbound/fixtures/outbox-child.ts'),
        rig.emu.apiUrl,
        rig.apiKey,
        rig.ref.revision_id,
        rig.ref.session_id,
        ALIAS,
        rig.journalPath,
        '400',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    await waitFor(() => rig.items().length >= 10 && out.split('\n').length > 60, 'child posting', {
      timeoutMs: 30_000,
    });
    child.kill('SIGKILL');
    const exit = await waitExit(child, 5_000);
    assert.equal(exit.signal, 'SIGKILL', `child ended on its own: ${err.slice(-500)}`);
    assert.ok(!out.includes('DRAINED'), 'killed with a backlog');
    const accepted = out
      .split('\n')
      .filter((l) => l.startsWith('E '))
      .map((l) => l.split(' ')[2]);
    // Let requests the child left in flight land before looking.
    await postsLanded(rig);
    const beforeReplay = rig.items().length;
    assert.ok(
      beforeReplay < accepted.length,
      `a backlog was left (${beforeReplay} stored, ${accepted.length} accepted)`,
    );

    c.clearFaults();
    const outbox = await rig.open();
    await within(outbox.drain(), 30_000, 'replay drained');
    const ids = rig.emissionIds();
    assert.equal(new Set(ids).size, ids.length, 'nothing twice');
    assert.deepEqual(ids.slice(0, accepted.length), accepted, 'every accepted emission, in order');
    // At most the emissions whose report died with the process come after them, still in order.
    const texts = rig.items().map((i) => (i.content[0] as { text: string }).text);
    assert.deepEqual(
      texts,
      texts.map((_, i) => `n${i}`),
    );
    await outbox.close();
  }));
