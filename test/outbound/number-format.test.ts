/** The turn-end brief's thousands separators: the same text as en-US's toLocaleString, without loading ICU. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmt } from '../../main/core/harness/outbound/items';

test('fmt groups digits exactly like toLocaleString("en-US")', () => {
  const values = [0, 1, 12, 999, 1000, 9999, 10_000, 123_456, 1_000_000, 98_765_432, -1, -1234, -1_000_000];
  for (let i = 0; i < 200; i++) values.push(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER));
  for (const n of [...values, 1e21, 1234.5]) assert.equal(fmt(n), n.toLocaleString('en-US'), String(n));
});
