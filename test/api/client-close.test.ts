/**
 * close() ends a client for good: a call still retrying (here against a server that keeps answering 503)
 * rejects at once as aborted instead of backing off forever, and a later call fails without a request.
 * Before, a stray retry after the worker stopped kept the process alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator } from '../../main/emulator/index';
import { BlobHubClient } from '../../main/core/api/client';
import { isApiError } from '../../main/core/api/errors';
import { waitFor } from '../support/process';

test('close() aborts a call that is retrying and refuses later calls', { timeout: 15_000 }, async (t) => {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const user = emu.control.createUser({ name: 'W', email: 'w@example.test' });
  const ref = emu.control.createSession({ members: [user.user_id] });
  const client = new BlobHubClient({ apiUrl: emu.apiUrl, apiKey: user.api_key, backoffMaxMs: 5_000 });
  emu.control.addFault({ command: 'list_session_objects', kind: 'status', status: 503 });

  const call = client.listSessionObjects(ref);
  const outcome = call.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  await waitFor(() => (emu.control.counters().byCommand['list_session_objects'] ?? 0) >= 2, 'a retry');
  const closedAt = Date.now();
  client.close();
  const err = await outcome;
  assert.ok(Date.now() - closedAt < 1_000, 'the retrying call ended right after close()');
  assert.ok(isApiError(err) && err.aborted, `expected an aborted ApiError, got ${String(err)}`);

  const requests = emu.control.counters().requests;
  await assert.rejects(client.listSessionObjects(ref), (e: unknown) => isApiError(e) && e.aborted);
  assert.equal(emu.control.counters().requests, requests, 'no request after close()');
});
