/**
 * The section's Ticker is slept on by more than one loop (attach retries, the reconcile wait). A sleep must
 * not end another loop's sleep: two such loops once woke each other through microtasks forever, starving
 * every timer and every I/O callback of the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Ticker } from '../../main/core/util/ticker';

test('two loops sleeping on one ticker leave timers running; wake() ends both', async () => {
  const ticker = new Ticker();
  const rounds = [0, 0];
  let stop = false;
  const loop = async (i: number): Promise<void> => {
    while (!stop && rounds[i] < 10_000) {
      rounds[i]++;
      await ticker.sleep(60_000);
    }
  };
  const loops = [loop(0), loop(1)];
  await delay(20); // a timer of the process must still fire while both loops sleep
  assert.deepEqual(rounds, [1, 1], 'each loop is in its first sleep');
  stop = true;
  ticker.wake();
  await Promise.all(loops);
  assert.deepEqual(rounds, [1, 1]);
});

test('wake() ends a sleep early; a sleep after it waits again', async () => {
  const ticker = new Ticker();
  let ended = false;
  const first = ticker.sleep(60_000).then(() => (ended = true));
  ticker.wake();
  await first;
  assert.ok(ended);
  const second = ticker.sleep(10);
  await second; // its own timer ends it
});
