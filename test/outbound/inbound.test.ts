import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  coalesceTurn,
  compareToCursor,
  cursorOf,
  isAfterCursor,
  isSelf,
  itemText,
  maxCursor,
  newInboundItems,
} from '../../main/core/harness/inbound';
import type { ThreadItem } from '../../main/core/api/types';

const item = (
  id: string,
  createdAt: string,
  userId: string,
  content: ThreadItem['content'],
  metadata?: Record<string, unknown>,
): ThreadItem => ({ id, created_at: createdAt, user_id: userId, content, metadata });

const T = (n: number): string => `2026-05-28T12:00:00.${String(n).padStart(6, '0')}+00:00`;

test('isSelf looks at user_id only', () => {
  assert.equal(isSelf(item('1', T(1), 'u_worker', [{ type: 'text', text: 'x' }]), 'u_worker'), true);
  // A worker-shaped item from someone else is not self; a plain item from the worker's user is.
  assert.equal(
    isSelf(
      item('2', T(2), 'u_human', [{ type: 'text', text: 'x' }], { type: 'text', emission_id: 'em_1' }),
      'u_worker',
    ),
    false,
  );
  assert.equal(isSelf(item('3', T(3), 'u_worker', [{ type: 'text', text: 'typed in the web UI' }]), 'u_worker'), true);
  assert.equal(isSelf({ user_id: null }, 'u_worker'), false);
});

test('coalesceTurn: created_at order, blank-line joins, fenced json, no author prefixes, ids de-duplicated', () => {
  const items = [
    item('c', T(3), 'u2', [{ type: 'json', json: { a: 1 } }]),
    item('a', T(1), 'u1', [
      { type: 'text', text: 'first' },
      { type: 'text', text: 'second block' },
    ]),
    item('b', T(2), 'u2', [
      { type: 'text', text: 'from another user' },
      { type: 'image', url: 'x' },
    ]),
    item('a', T(1), 'u1', [
      { type: 'text', text: 'first' },
      { type: 'text', text: 'second block' },
    ]),
  ];
  assert.equal(coalesceTurn(items), 'first\n\nsecond block\n\nfrom another user\n\n```json\n{\n  "a": 1\n}\n```');
  assert.equal(coalesceTurn([]), '');
});

test('itemText joins only the text blocks', () => {
  assert.equal(
    itemText(
      item('a', T(1), 'u', [
        { type: 'text', text: 'yes' },
        { type: 'json', json: 1 },
        { type: 'text', text: 'really' },
      ]),
    ),
    'yes\n\nreally',
  );
});

test('cursor: later created_at is after; equal created_at only with an unseen different id', () => {
  const cursor = { created_at: T(5), item_id: 'i5' };
  assert.equal(isAfterCursor({ id: 'i6', created_at: T(6) }, cursor), true);
  assert.equal(isAfterCursor({ id: 'i4', created_at: T(4) }, cursor), false);
  assert.equal(isAfterCursor({ id: 'i5', created_at: T(5) }, cursor), false);
  assert.equal(isAfterCursor({ id: 'i5b', created_at: T(5) }, cursor), true);
  assert.equal(isAfterCursor({ id: 'i5b', created_at: T(5) }, cursor, new Set(['i5b'])), false);
  assert.equal(isAfterCursor({ id: 'x', created_at: T(0) }, null), true);
  assert.equal(compareToCursor({ id: 'i5', created_at: T(5) }, cursor), 0);
  assert.deepEqual(cursorOf({ id: 'z', created_at: T(9) }), { created_at: T(9), item_id: 'z' });
  assert.deepEqual(maxCursor(cursor, { created_at: T(3), item_id: 'i3' }), cursor);
  assert.deepEqual(maxCursor(null, cursor), cursor);
});

test('newInboundItems: after the cursor, not self, ordered, once', () => {
  const items = [
    item('i7', T(7), 'u_h', [{ type: 'text', text: 'seven' }]),
    item('i5', T(5), 'u_h', [{ type: 'text', text: 'five' }]),
    item('i6', T(6), 'u_w', [{ type: 'text', text: 'self' }]),
    item('i8', T(8), 'u_h', [{ type: 'text', text: 'eight' }]),
    item('i8', T(8), 'u_h', [{ type: 'text', text: 'eight' }]),
  ];
  const fresh = newInboundItems(items, { created_at: T(5), item_id: 'i5' }, 'u_w');
  assert.deepEqual(
    fresh.map((i) => i.id),
    ['i7', 'i8'],
  );
  assert.equal(coalesceTurn(fresh), 'seven\n\neight');
});
