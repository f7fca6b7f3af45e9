/**
 * Fuzzed server answers and envelopes.
 *
 * 1. The real API client against the emulator's `malformed` fault: every command answered with a mutated
 *    version of its real body (truncated, retyped fields, wrong shapes, non-UTF-8, empty…), applied or not.
 *    Property: a well-typed value or an ApiError with a named code — nothing else.
 * 2. A running worker (the CLI child) watching a session into which wrong-shaped envelopes are uploaded
 *    through the control API while ~10 % of every API answer is malformed, plus an agent thread whose fake
 *    prints garbage, raw lines of wrong shapes, unknown types and deeply nested JSON. Property: the worker
 *    stays up, logs only named JSON lines (no stack, no raw exception), never touches an envelope that is not
 *    a job, writes only `active`/`failed` into jobs, posts no duplicate emission, and a canary thread handed
 *    off afterwards still gets its answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { BlobHubClient } from '../../main/core/api/client';
import { isApiError } from '../../main/core/api/errors';
import { ERROR_CODES } from '../../main/core/errors';
import { parseJob } from '../../main/core/harness/handoff';
import { startEmulator, type Emulator } from '../../main/emulator/index';
import { makeRig, agentTexts } from '../harness/support';
import { waitFor } from '../support/process';
import {
  FUZZ_SEED,
  ODD_VALUES,
  assertNoRawException,
  int,
  jsonPaths,
  logLines,
  mutate,
  pick,
  seededRandom,
  setAt,
  startWorker,
  type Rng,
} from './support';

const CASES = Number(process.env.BHW_FUZZ_CASES ?? 300);

/** A mutated version of a real JSON body: structural (retype/remove a field, wrap, unwrap) or byte-level. */
function mutateBody(rng: Rng, base: string): { op: string; body: string } {
  const parsed = JSON.parse(base) as unknown;
  const op = pick(rng, ['retype', 'retype', 'remove', 'wrap', 'unwrap', 'bytes', 'bytes', 'literal']);
  if (op === 'bytes') {
    const m = mutate(rng, base);
    return { op: `bytes:${m.op}`, body: m.bytes.toString('latin1') };
  }
  if (op === 'literal')
    return {
      op,
      body: pick(rng, [
        '',
        ' ',
        'null',
        '[]',
        '{}',
        '"ok"',
        '0',
        'true',
        '{"error":{}}',
        '{"items":null}',
        '{"object":{}}',
        '{"user":null}',
        '<html>502</html>',
      ]),
    };
  if (op === 'wrap')
    return {
      op,
      body: JSON.stringify(
        pick(rng, [[parsed], { data: parsed }, { result: parsed }, { item: parsed, items: parsed }]),
      ),
    };
  if (op === 'unwrap') {
    const inner = parsed && typeof parsed === 'object' ? Object.values(parsed)[0] : parsed;
    return { op, body: JSON.stringify(inner ?? null) };
  }
  const copy = structuredClone(parsed);
  const paths = jsonPaths(copy);
  if (!paths.length) return { op: 'literal', body: JSON.stringify(pick(rng, ODD_VALUES)) };
  for (let n = int(rng, 1, 3); n > 0; n--) {
    const ps = jsonPaths(copy);
    if (ps.length) setAt(copy, pick(rng, ps), structuredClone(pick(rng, ODD_VALUES)), op === 'remove');
  }
  return { op, body: JSON.stringify(copy) };
}

async function rawBody(
  emu: Emulator,
  key: string,
  command: string,
  params: Record<string, unknown>,
  ref: { revision_id: string; session_id: string },
): Promise<string> {
  const res =
    command === 'users/me'
      ? await fetch(`${emu.apiUrl}/users/me`, { headers: { 'x-api-key': key }, signal: AbortSignal.timeout(5000) })
      : await fetch(`${emu.apiUrl}/revisions/${ref.revision_id}/data`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          body: JSON.stringify({ engine: 'workflow_blobhub', command, session_id: ref.session_id, ...params }),
          signal: AbortSignal.timeout(5000),
        });
  return res.text();
}

const API_CODES = [
  'API_NETWORK_ERROR',
  'API_TRANSIENT_ERROR',
  'API_RATE_LIMITED',
  'API_COMMAND_FAILED',
  'API_BAD_RESPONSE',
  'AUTH_INVALID',
];

test(
  `fuzz server answers through the real API client: a typed value or a named ApiError (seed ${FUZZ_SEED + 300}, ${CASES} cases)`,
  { timeout: 60_000 },
  async (t) => {
    const emu = await startEmulator({ pageSize: 5 });
    t.after(() => emu.close());
    const user = emu.control.createUser({ name: 'Worker', email: 'w@example.test' });
    const ref = emu.control.createSession({ members: [user.user_id] });
    emu.control.uploadObject(user.user_id, ref, 'job', {
      type: 'thread',
      thread: { attributes: { name: 'job' }, metadata: { instance: { state: 'pending' } } },
    });
    const item = emu.control.postItem(user.user_id, ref, 'job', [{ type: 'text', text: 'hello' }], {
      type: 'text',
      emission_id: 'em_1',
    });
    const client = new BlobHubClient({ apiUrl: emu.apiUrl, apiKey: user.api_key, requestTimeoutMs: 5000 });
    t.after(() => client.close());
    const none = { retry: 'none' as const };
    const isItem = (v: unknown): boolean =>
      !!v &&
      typeof (v as { id?: unknown }).id === 'string' &&
      typeof (v as { created_at?: unknown }).created_at === 'string';
    const targets: Array<{
      command: string;
      params: Record<string, unknown>;
      call: () => Promise<unknown>;
      valid: (v: unknown) => boolean;
    }> = [
      {
        command: 'users/me',
        params: {},
        call: () => client.getMe(none),
        valid: (v) => typeof (v as { user_id?: unknown }).user_id === 'string',
      },
      {
        command: 'list_session_objects',
        params: {},
        call: () => client.listSessionObjects(ref, none),
        valid: (v) => Array.isArray(v) && v.every((a) => typeof a === 'string'),
      },
      {
        command: 'download_session_object',
        params: { alias: 'job' },
        call: () => client.downloadSessionObject(ref, 'job', none),
        valid: (v) => v === null || typeof (v as { value?: { type?: unknown } }).value?.type === 'string',
      },
      {
        command: 'upload_session_object',
        params: { alias: 'job2', value: { type: 'doc' } },
        call: () => client.uploadSessionObject(ref, 'job2', { type: 'doc' }, none),
        valid: (v) => v === undefined,
      },
      {
        command: 'post_session_thread_item',
        params: { alias: 'job', content: [{ type: 'text', text: 'x' }] },
        call: () => client.postThreadItem(ref, 'job', { content: [{ type: 'text', text: 'x' }] }, none),
        valid: isItem,
      },
      {
        command: 'list_session_thread_items',
        params: { alias: 'job', ascending: true },
        call: () => client.listThreadItems(ref, 'job', { ascending: true }, none),
        valid: (v) => Array.isArray(v) && v.every(isItem),
      },
      {
        command: 'get_session_thread_item',
        params: { alias: 'job', item_id: item.id },
        call: () => client.getThreadItem(ref, 'job', item.id, none),
        valid: (v) => v === null || isItem(v),
      },
      {
        command: 'delete_session_object',
        params: { alias: 'job2' },
        call: () => client.deleteSessionObject(ref, 'job2', none),
        valid: (v) => v === undefined,
      },
    ];
    const bases = new Map<string, string>();
    for (const target of targets) {
      if (target.command === 'delete_session_object')
        emu.control.uploadObject(user.user_id, ref, 'job2', { type: 'doc' });
      bases.set(target.command, await rawBody(emu, user.api_key, target.command, target.params, ref));
    }
    const counts: Record<string, number> = {};
    for (let i = 0; i < CASES; i++) {
      const rng = seededRandom(FUZZ_SEED + 300 + i);
      const target = pick(rng, targets);
      const { op, body } = mutateBody(rng, bases.get(target.command)!);
      const applied = rng() < 0.3;
      if (target.command === 'delete_session_object' && !emu.control.getObject(ref, 'job2'))
        emu.control.uploadObject(user.user_id, ref, 'job2', { type: 'doc' });
      emu.control.addFault({ command: target.command, kind: 'malformed', body, applied, times: 1 });
      const label = `seed ${FUZZ_SEED + 300} case ${i} ${target.command} op ${op} applied=${applied}: ${body.slice(0, 200)}`;
      let outcome: string;
      try {
        const value = await target.call();
        assert.ok(
          target.valid(value),
          `${label}: accepted a value of the wrong shape: ${JSON.stringify(value)?.slice(0, 300)}`,
        );
        outcome = 'value';
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.ok(isApiError(e), `${label}: not an ApiError: ${String(e)}`);
        assert.ok(API_CODES.includes(e.code), `${label}: code ${e.code}`);
        assert.ok(!/\n\s+at /.test(e.message) && !e.message.includes(user.api_key), `${label}: message ${e.message}`);
        outcome = e.code;
      }
      emu.control.clearFaults();
      counts[`${target.command}:${outcome}`] = (counts[`${target.command}:${outcome}`] ?? 0) + 1;
    }
    t.diagnostic(JSON.stringify(counts));
    assert.ok(Object.keys(counts).some((k) => k.endsWith(':API_BAD_RESPONSE')));
  },
);

/** A seeded envelope value of a wrong or odd shape (sometimes a well-formed job). */
function weirdValue(rng: Rng, workFolder: string): Record<string, unknown> {
  const odd = (): unknown => structuredClone(pick(rng, ODD_VALUES));
  const maybe = <T>(v: () => T): T | undefined => (rng() < 0.7 ? v() : undefined);
  switch (int(rng, 0, 5)) {
    case 0:
      return { type: pick(rng, ['doc', 'THREAD', ' thread', 'thread\u0000', 'x'.repeat(300)]) };
    case 1:
      return { type: 'thread', thread: odd() };
    case 2:
      return { type: 'thread', thread: { attributes: odd(), metadata: odd() } };
    case 3:
      return { type: 'thread', thread: { metadata: { instance: odd() } } };
    default: {
      const metadata: Record<string, unknown> = {
        instance: {
          state: pick(rng, [
            'pending',
            'pending',
            'active',
            'completed',
            'failed',
            'PENDING',
            'weird',
            42,
            null,
            ['pending'],
          ]),
        },
      };
      const workspace = maybe(() => ({
        work_folder: pick(rng, [
          workFolder,
          workFolder,
          'relative/dir',
          '/nonexistent/bhw',
          '/etc/hostname',
          42,
          null,
          '',
          '/'.repeat(3000),
        ]),
      }));
      if (workspace) metadata.workspace = workspace;
      const agent = maybe(() => ({
        type: pick(rng, ['claude_code', 'claude_code', 'codex', 'gpt', 42, null, {}]),
        ...(rng() < 0.3 ? { permissions: pick(rng, ['approval', 'autonomous', 'yolo', 1, null]) } : {}),
        ...(rng() < 0.2 ? { model: odd() } : {}),
        ...(rng() < 0.2
          ? { executable: pick(rng, ['/nonexistent/claude', 'no-such-agent-exe', '/bin/false', 7]) }
          : {}),
      }));
      if (agent) metadata.agent = agent;
      if (rng() < 0.3) metadata[pick(rng, ['extra', 'workspace', 'agent'])] = odd();
      return { type: 'thread', thread: { attributes: { name: 'fuzz' }, metadata } };
    }
  }
}

const DEEP = (n: number): string => '['.repeat(n) + ']'.repeat(n);

test(
  `a running worker under wrong-shaped envelopes, malformed answers and garbage agent lines stays up and keeps working (seed ${FUZZ_SEED + 400})`,
  { timeout: 120_000 },
  async (t) => {
    const rig = await makeRig(t, {
      realtime: true,
      permissions: 'approval',
      scenario: {
        markers: {
          FUZZLINES: {
            steps: [
              { garbage: 'this is not JSON {' },
              { raw: '[1,2,3]' },
              { raw: 'null' },
              { unknown: true },
              { raw: '{"type":"assistant","message":{"content":"not an array"},"session_id":"x"}' },
              { raw: '{"type":"assistant","message":{"content":[{"type":"text","text":42},{"type":"tool_use"}]}}' },
              {
                raw: `{"type":"assistant","message":{"id":"m1","role":"assistant","content":[{"type":"tool_use","id":"deep1","name":"Bash","input":{"command":"ls","x":${DEEP(8000)}}}]},"session_id":"x","uuid":"u"}`,
              },
              {
                raw: `{"type":"control_request","request_id":"req-deep","request":{"subtype":"can_use_tool","tool_name":"Bash","input":{"command":"ls","x":${DEEP(8000)}},"tool_use_id":"deep2"}}`,
              },
              { raw: '{"type":"system","subtype":"status","status":{"nested":true}}' },
              { raw: '{"type":"result","subtype":7,"usage":"lots","is_error":"maybe"}' },
              {
                raw: `{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"deep1","content":${DEEP(3000)}}]}}`,
              },
              { text: 'still here' },
            ],
          },
        },
      },
    });
    const proc = startWorker(rig.home, rig.env);
    t.after(() => proc.kill());
    await proc.waitLog((l) => l.event === 'section_attached', 'section attached');

    // An agent thread fed garbage.
    rig.chat('agentfuzz');
    rig.say('agentfuzz', 'FUZZLINES please');
    rig.handoff('agentfuzz');

    // Wrong-shaped envelopes, some updated several times, while ~10 % of API answers are malformed.
    const rng = seededRandom(FUZZ_SEED + 400);
    const bodies = [
      '{"truncated',
      '',
      'null',
      '[]',
      '{"items":[{"id":1}]}',
      '{"object":{"value":7}}',
      '{"aliases":"worker"}',
      '{"item":{}}',
      '\u00ff\u00fe',
    ];
    for (const body of bodies)
      rig.emu.control.addFault({ command: '*', kind: 'malformed', body, probability: 0.012, applied: rng() < 0.5 });
    const uploaded = new Map<string, Record<string, unknown>>();
    const history = new Map<string, Array<Record<string, unknown>>>();
    for (let i = 0; i < 60; i++) {
      const alias = `fz${int(rng, 0, 39)}`;
      const value = weirdValue(rng, rig.workFolder);
      rig.emu.control.uploadObject(rig.human.user_id, rig.ref, alias, value as never);
      uploaded.set(alias, value);
      history.set(alias, [...(history.get(alias) ?? []), value]);
      if (rng() < 0.2 && value.type === 'thread') rig.say(alias, 'a message nobody asked for');
      await new Promise((r) => setTimeout(r, int(rng, 0, 40)));
    }
    await waitFor(
      async () => agentTexts(rig, 'agentfuzz').includes('still here'),
      'the agent thread got past the garbage',
      { timeoutMs: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    rig.emu.control.clearFaults();

    // The canary: a clean handoff after all that still works end to end.
    rig.chat('canary');
    rig.say('canary', 'hello canary');
    rig.handoff('canary');
    await waitFor(
      () => agentTexts(rig, 'canary').some((x) => x.includes('hello canary')),
      'the canary got its answer',
      { timeoutMs: 30_000 },
    );

    assert.equal(proc.exited(), false, `the worker is still running; stderr: ${proc.stderr().slice(-3000)}`);
    const r = await proc.stop();
    assert.equal(r.status, 0, proc.stderr().slice(-3000));
    assertNoRawException(proc.stdout(), 'stdout');
    assertNoRawException(proc.stderr(), 'stderr');
    const { json, other } = logLines(proc.stderr());
    assert.deepEqual(other, [], 'every stderr line is a JSON log line');
    for (const l of json.filter((x) => x.level === 'error')) {
      assert.ok(
        typeof l.code === 'string' && l.code in ERROR_CODES,
        `error line with a named code: ${JSON.stringify(l)}`,
      );
    }

    // Envelopes: what is not a job was never written by the worker; jobs only got active/failed.
    for (const [alias, value] of uploaded) {
      const env = rig.emu.control.getObject(rig.ref, alias);
      const job = parseJob({ alias, value } as never);
      if (!job) {
        // The API has no conditional write: a user upload that lands within the one round trip between the
        // worker's download and upload of an earlier (job) value is overwritten (docs/harness.md). What the
        // worker guarantees is that it only ever writes back a value the user uploaded, with instance.state
        // set to active/failed.
        if (!isDeepStrictEqual(env?.value, value)) {
          const fromUser = (history.get(alias) ?? []).some((v) => {
            const thread = (v as { thread?: { metadata?: { instance?: unknown } } }).thread;
            if (!thread?.metadata || typeof thread.metadata !== 'object') return false;
            const written = structuredClone(v) as { thread: { metadata: { instance: { state?: unknown } } } };
            const state = (env?.value as { thread?: { metadata?: { instance?: { state?: unknown } } } }).thread
              ?.metadata?.instance?.state;
            if (state !== 'active' && state !== 'failed') return false;
            written.thread.metadata.instance = { ...(written.thread.metadata.instance ?? {}), state };
            return isDeepStrictEqual(env?.value, written);
          });
          assert.ok(
            fromUser,
            `${alias}: a non-job envelope was changed to something the user never uploaded: ${JSON.stringify(env?.value).slice(0, 500)}`,
          );
        }
        continue;
      }
      const state = (env?.value as { thread?: { metadata?: { instance?: { state?: unknown } } } }).thread?.metadata
        ?.instance?.state;
      const expected = structuredClone(value) as { thread: { metadata: { instance: { state: unknown } } } };
      expected.thread.metadata.instance.state = state;
      assert.deepEqual(env?.value, expected, `${alias}: only instance.state may change`);
      if (state !== job.state)
        assert.ok(state === 'active' || state === 'failed', `${alias}: the worker wrote ${String(state)}`);
    }
    // Activity: every failure has a named code; no emission posted twice anywhere.
    const ids = new Set<string>();
    for (const alias of ['worker', 'agentfuzz', 'canary', ...uploaded.keys()]) {
      for (const item of rig.emu.control.listItems(rig.ref, alias)) {
        const meta = item.metadata as { emission_id?: string; type?: string; error?: { code?: string } } | undefined;
        if (meta?.type === 'thread_failed')
          assert.ok(meta.error?.code && meta.error.code in ERROR_CODES, JSON.stringify(meta));
        if (!meta?.emission_id) continue;
        assert.ok(!ids.has(meta.emission_id), `emission ${meta.emission_id} posted twice (${alias})`);
        ids.add(meta.emission_id);
      }
    }
    const skipped = json.filter((l) => l.event === 'agent_line_skipped').length;
    for (const w of json.filter((l) => l.level === 'warning'))
      t.diagnostic(
        `warning ${String(w.event)} ${JSON.stringify(w.code ?? '')} ${JSON.stringify(w.msg ?? w.message ?? '').slice(0, 160)}`,
      );
    t.diagnostic(
      `${uploaded.size} envelopes, ${ids.size} emissions, ${skipped} agent lines skipped, ${json.filter((l) => l.level === 'warning').length} warnings`,
    );
  },
);
