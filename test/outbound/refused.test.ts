/**
 * A permanent refusal in the outbox journal (docs/outbound.md §3): the `refused` line written when the outbox
 * fails, what the next open posts in the item's place (a `status` placeholder with the same emission_id, in
 * the same position), and journals without that line (an older version's, or a torn/garbled one) unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  ITEM_REFUSED_STATUS,
  refusedItemPlaceholder,
  textItem,
  thinkingItem,
} from '../../main/core/harness/outbound/items';
import { readJournal } from '../../main/core/harness/outbound/journal';
import { ThreadLog } from '../../main/core/agents/thread-log';
import { isWorkerError } from '../../main/core/errors';
import type { PostItemInput } from '../../main/core/api/types';
import { ALIAS, withRig, within, type Rig } from './support';

const POST = 'post_session_thread_item';

const journalLines = async (path: string): Promise<Array<Record<string, unknown>>> =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const emitLine = (item: PostItemInput): string =>
  JSON.stringify({ op: 'emit', id: item.metadata!.emission_id, at: '2026-01-01T00:00:00Z', item });

async function writeJournal(rig: Rig, lines: string[], endsClean = true): Promise<void> {
  await mkdir(dirname(rig.journalPath), { recursive: true });
  await writeFile(rig.journalPath, lines.join('\n') + (endsClean ? '\n' : ''));
}

const texts = (rig: Rig): string[] => rig.items().map((i) => (i.content[0] as { text: string }).text);

test("3 × 400 → a refused line (code, one-line message, no content); reopened, a placeholder takes the item's place and id", () =>
  withRig({}, async (rig) => {
    const threadLog = new ThreadLog(join(rig.dir, 'thread.log'));
    const first = await rig.open({ threadLog });
    rig.emu.control.addFault({ command: POST, alias: ALIAS, kind: 'client_error', times: 3 });
    const secret = thinkingItem('the refused content, which only thread.log keeps');
    const refused = first.enqueue(secret);
    const after = first.enqueue(textItem('after'));
    await assert.rejects(within(refused.posted, 10_000, 'refused'), (e: unknown) =>
      isWorkerError(e, 'THREAD_POST_FAILED'),
    );
    await first.close();

    const lines = await journalLines(rig.journalPath);
    assert.deepEqual(
      lines.map((l) => l.op),
      ['emit', 'emit', 'refused'],
    );
    const mark = lines[2];
    assert.equal(mark.id, refused.emissionId);
    assert.equal(mark.code, 'THREAD_POST_FAILED');
    assert.match(String(mark.message), /HTTP 400 invalid_request/);
    assert.ok(!String(mark.message).includes('\n'));
    assert.ok(!JSON.stringify(mark).includes('refused content'), 'the refused line never carries the item');
    assert.deepEqual(rig.items(), []);

    // The fault is spent: the server would accept the original now, but it is not sent again.
    const second = await rig.open({ threadLog });
    await within(second.drain(), 10_000, 'replay drained');
    const items = rig.items();
    assert.deepEqual(
      items.map((i) => i.metadata?.emission_id),
      [refused.emissionId, after.emissionId],
      'same ids, same order',
    );
    const placeholder = items[0];
    assert.equal(placeholder.metadata?.type, 'status');
    assert.equal(placeholder.metadata?.status, ITEM_REFUSED_STATUS);
    assert.deepEqual(placeholder.metadata?.detail, {
      code: 'THREAD_POST_FAILED',
      message: mark.message,
      kind: 'thinking',
    });
    assert.equal(
      (placeholder.content[0] as { text: string }).text,
      `An item could not be posted (THREAD_POST_FAILED: ${String(mark.message)}); its full content is in thread.log.`,
    );
    assert.ok(!JSON.stringify(placeholder).includes('refused content'));
    assert.equal(texts(rig)[1], 'after');
    assert.ok(rig.logs.some((r) => r.event === 'outbox_item_replaced' && r.emission_id === refused.emissionId));
    await second.close();
    threadLog.close();
    const log = (await readFile(join(rig.dir, 'thread.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.equal(
      log.find((r) => r.event === 'outbox_item_rejected')?.item.metadata.text,
      'the refused content, which only thread.log keeps',
    );
    assert.deepEqual(
      log.filter((r) => r.event === 'outbox_item_replaced').map((r) => [r.emission_id, r.kind]),
      [[refused.emissionId, 'thinking']],
    );
    assert.equal(rig.fatal.length, 1);
  }));

test('the placeholder is looked up by the emission_id like any replay: never posted twice', () =>
  withRig({}, async (rig) => {
    const item = textItem('refused');
    const id = String(item.metadata!.emission_id);
    // A previous run posted the placeholder but crashed before its done line.
    const stored = refusedItemPlaceholder(item, id, { code: 'THREAD_POST_FAILED', message: 'HTTP 400 x' });
    rig.emu.control.postItem(rig.userId, rig.ref, ALIAS, stored.content, stored.metadata);
    await writeJournal(rig, [
      emitLine(item),
      JSON.stringify({ op: 'refused', id, code: 'THREAD_POST_FAILED', message: 'HTTP 400 x' }),
    ]);
    const outbox = await rig.open();
    await within(outbox.drain(), 10_000, 'drained');
    assert.deepEqual(rig.emissionIds(), [id]);
    assert.equal(rig.emu.control.counters().byCommand[POST] ?? 0, 0);
    await outbox.close();
  }));

test('THREAD_ITEM_TOO_LARGE → refused; with the cap kept, the next open gets past it with the placeholder', () =>
  withRig({ itemSizeCap: 2_000 }, async (rig) => {
    const first = await rig.open();
    const huge = first.enqueue(textItem('z'.repeat(500_000)));
    const after = first.enqueue(textItem('after'));
    await assert.rejects(within(huge.posted, 10_000, 'too large'), (e: unknown) =>
      isWorkerError(e, 'THREAD_ITEM_TOO_LARGE'),
    );
    await first.close();
    const mark = (await journalLines(rig.journalPath)).find((l) => l.op === 'refused')!;
    assert.equal(mark.code, 'THREAD_ITEM_TOO_LARGE');
    assert.match(String(mark.message), /thread_item_too_large/);

    const second = await rig.open();
    await within(second.drain(), 10_000, 'replay drained');
    assert.deepEqual(rig.emissionIds(), [huge.emissionId, after.emissionId]);
    assert.deepEqual(rig.items()[0].metadata?.detail, {
      code: 'THREAD_ITEM_TOO_LARGE',
      message: mark.message,
      kind: 'text',
    });
    await second.close();
  }));

test('a failure of the retry window (5xx) is not a refusal: the next open posts the item itself', () =>
  withRig({}, async (rig) => {
    rig.emu.control.addFault({ command: POST, kind: 'status', status: 503 });
    const first = await rig.open({ postDeadlineMs: 500 });
    const { emissionId, posted } = first.enqueue(textItem('retry me'));
    await assert.rejects(within(posted, 10_000, 'deadline'), (e: unknown) => isWorkerError(e, 'THREAD_POST_FAILED'));
    await first.close();
    assert.deepEqual(
      (await journalLines(rig.journalPath)).map((l) => l.op),
      ['emit'],
    );
    rig.emu.control.clearFaults();
    const second = await rig.open();
    await within(second.drain(), 10_000, 'drained');
    assert.deepEqual(texts(rig), ['retry me']);
    assert.deepEqual(rig.emissionIds(), [emissionId]);
    await second.close();
  }));

test('3 × 401 / 403 / 404 (the key, the membership, the thread — not the item) fail the post but mark nothing: the next open posts the item itself', () =>
  withRig({}, async (rig) => {
    for (const status of [401, 403, 404]) {
      rig.emu.control.addFault({ command: POST, alias: ALIAS, kind: 'client_error', status, times: 3 });
      const first = await rig.open();
      const { emissionId, posted } = first.enqueue(textItem(`kept after ${status}`));
      await assert.rejects(within(posted, 10_000, `3 × ${status}`), (e: unknown) =>
        isWorkerError(e, 'THREAD_POST_FAILED'),
      );
      await first.close();
      assert.ok(
        !(await journalLines(rig.journalPath)).some((l) => l.op === 'refused'),
        `no refused mark after ${status}`,
      );
      const second = await rig.open();
      await within(second.drain(), 10_000, 'drained');
      assert.equal(rig.items().at(-1)!.metadata?.emission_id, emissionId);
      assert.deepEqual(
        rig.items().at(-1)!.content,
        [{ type: 'text', text: `kept after ${status}` }],
        `the item itself after ${status}`,
      );
      await second.close();
    }
  }));

test("journals without a readable refused line replay as before: an older version's, a garbled one, a torn one", () =>
  withRig({}, async (rig) => {
    const a = textItem('a');
    const b = textItem('b');
    const c = textItem('c');
    const idOf = (i: PostItemInput): string => String(i.metadata!.emission_id);
    await writeJournal(
      rig,
      [
        emitLine(a),
        emitLine(b),
        JSON.stringify({ op: 'refused', id: idOf(a), message: 'no code' }), // garbled: skipped like any bad line
        emitLine(c),
        JSON.stringify({ op: 'refused', id: idOf(b), code: 'THREAD_POST_FAILED', message: 'HTTP 400 x' }).slice(0, 30), // torn
      ],
      false,
    );
    const state = await readJournal(rig.journalPath, rig.logger);
    assert.deepEqual(
      state.pending.map((p) => [p.id, p.refused]),
      [
        [idOf(a), undefined],
        [idOf(b), undefined],
        [idOf(c), undefined],
      ],
    );
    assert.equal(state.skippedLines, 2);
    const outbox = await rig.open();
    await within(outbox.drain(), 10_000, 'drained');
    assert.deepEqual(texts(rig), ['a', 'b', 'c']);
    assert.ok(rig.logs.some((r) => r.event === 'outbox_journal_bad_line' && r.line === 3));
    assert.ok(rig.logs.some((r) => r.event === 'outbox_journal_torn_line'));
    assert.ok(!rig.logs.some((r) => r.event === 'outbox_item_replaced'));
    await outbox.close();
  }));

test('a refused placeholder is retried as it is, never wrapped in another placeholder', () =>
  withRig({}, async (rig) => {
    const original = textItem('original');
    const id = String(original.metadata!.emission_id);
    const placeholder = refusedItemPlaceholder(original, id, { code: 'THREAD_POST_FAILED', message: 'HTTP 400 first' });
    await writeJournal(rig, [
      emitLine(placeholder),
      JSON.stringify({ op: 'refused', id, code: 'THREAD_POST_FAILED', message: 'HTTP 400 second' }),
    ]);
    const outbox = await rig.open();
    await within(outbox.drain(), 10_000, 'drained');
    assert.equal(rig.items().length, 1);
    assert.deepEqual(rig.items()[0].metadata, placeholder.metadata);
    assert.deepEqual(rig.items()[0].content, placeholder.content);
    assert.ok(rig.logs.some((r) => r.event === 'outbox_placeholder_refused'));
    await outbox.close();
  }));
