/**
 * A tool input nested thousands of levels deep (agent data can be any shape) must not overflow the stack
 * wherever the worker serialises it — else its approval is never posted and the agent waits for nothing.
 * Events leave the adapter with inputs cut at MAX_INPUT_DEPTH; the agent still gets its original input
 * back when the user allows the call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeHarness } from './helpers';
import { MAX_INPUT_DEPTH } from '../../main/core/agents/base';
import { toYaml } from '../../main/core/state/yaml-file';
import { pendingPromptItem } from '../../main/core/harness/outbound/items';
import { fitToBudget } from '../../main/core/harness/outbound/budget';

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < depth; i++) v = { x: v };
  return v;
}

function depthOf(v: unknown): number {
  let d = 0;
  while (v && typeof v === 'object' && 'x' in v) {
    v = v.x;
    d++;
  }
  return d;
}

test(
  'a 2,000-deep approval input: the prompt is posted with a clamped input; allow echoes the original',
  { timeout: 30_000 },
  async () => {
    const input = { command: 'ls', x: nested(2_000) };
    const h = await makeHarness('claude_code', {
      permissions: 'approval',
      scenario: {
        markers: {
          DEEP: { steps: [{ tool: { name: 'Bash', input, output: 'ok', needsPermission: true } }, { text: 'Done.' }] },
        },
      },
    });
    try {
      await h.session.start();
      await h.session.sendTurn('DEEP please');
      const { prompt } = await h.next('prompt');
      assert.equal(prompt.kind, 'approval');
      if (prompt.kind !== 'approval') return;
      const shown = prompt.tool.input as { command: string; x: unknown };
      assert.equal(shown.command, 'ls');
      assert.ok(depthOf(shown.x) < MAX_INPUT_DEPTH, 'the emitted input is clamped');
      // What the harness does with it next must not throw: thread.yaml and the pending_prompt item.
      toYaml({ open_prompt: prompt });
      fitToBudget(pendingPromptItem(prompt));

      await h.session.answerPrompt(prompt.id, { kind: 'approval', decision: 'allow' });
      await h.next('turn_end');
      const response = h.stdinLines().find((l) => (l as { type?: string }).type === 'control_response') as {
        response: { response: { behavior: string; updatedInput: { x: unknown } } };
      };
      assert.equal(response.response.response.behavior, 'allow');
      assert.equal(depthOf(response.response.response.updatedInput.x), 2_000, 'the agent got its original input back');
    } finally {
      await h.cleanup();
    }
  },
);
