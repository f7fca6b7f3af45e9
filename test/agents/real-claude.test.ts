/**
 * The Claude adapter against the REAL Claude Code CLI 2.1.329 (node_modules/.bin/claude) and the scripted
 * Anthropic mock on 127.0.0.1 (test/support/anthropic-mock.ts): protocol §9.2a scopes as the real CLI applies
 * them. Skipped, with the reason, when the binary is not installed.
 *  - "always" → the same command later runs with no new prompt; a different command still asks;
 *  - nothing is written to the work folder's .claude/ (session scope only);
 *  - after a respawn with --resume, the granted rule is honoured (--add-dir + --allowedTools).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseThreadAnswer } from '../../main/core/agents/answers';
import { createAgentSession } from '../../main/core/agents/index';
import type { AgentEvent, AgentPrompt, AgentSession } from '../../main/core/agents/types';
import { startAnthropicMock, type MockRequestView } from '../support/anthropic-mock';
import { tempDir, waitFor } from '../support/process';
import { REAL_CLAUDE, realClaudeEnv, realClaudeMissing } from '../support/real-claude';

const missing = realClaudeMissing();
const T = { timeout: 120_000, ...(missing ? { skip: `real Claude Code not available: ${missing}` } : {}) };

function model(v: MockRequestView) {
  const bash = (command: string) => [
    { type: 'tool_use' as const, name: 'Bash', input: { command, description: `Run ${command}` } },
  ];
  if (v.step > 0) return [{ type: 'text' as const, text: `Done: ${v.toolResults[0]?.content.slice(0, 40) ?? ''}` }];
  if (v.turnText.includes('TOUCH_A')) return bash('touch a.txt');
  if (v.turnText.includes('TOUCH_B')) return bash('touch b.txt');
  return [{ type: 'text' as const, text: 'Hello.' }];
}

interface Live {
  session: AgentSession;
  events: AgentEvent[];
  turnEnds(n: number): Promise<unknown>;
  prompt(n: number): Promise<AgentPrompt>;
}

function live(session: AgentSession): Live {
  const events: AgentEvent[] = [];
  session.onEvent((e) => events.push(e));
  const count = (type: AgentEvent['type']) => events.filter((e) => e.type === type).length;
  return {
    session,
    events,
    turnEnds: (n) => waitFor(() => count('turn_end') >= n, `turn_end #${n}`, { timeoutMs: 60_000 }),
    prompt: async (n) => {
      await waitFor(() => count('prompt') >= n, `prompt #${n}`, { timeoutMs: 60_000 });
      return events.filter((e) => e.type === 'prompt')[n - 1].prompt;
    },
  };
}

test(
  'real claude: "always" → the same command runs unasked, another asks; .claude/ untouched; honoured after --resume',
  T,
  async (t) => {
    const mock = await startAnthropicMock(model);
    const tmp = await tempDir('bhw-realclaude-');
    t.after(async () => {
      await mock.close();
      await tmp.cleanup();
    });
    const work = join(tmp.path, 'project');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'README.md'), 'a project\n');
    const env = await realClaudeEnv(tmp.path, mock.url);
    const options = {
      executable: REAL_CLAUDE,
      cwd: work,
      permissions: 'approval' as const,
      model: 'claude-sonnet-4-5',
      logFile: join(tmp.path, 'thread.log'),
      env,
      startTimeoutMs: 60_000,
    };

    const a = live(createAgentSession('claude_code', options));
    t.after(() => a.session.stop({ graceMs: 2_000, killMs: 2_000 }).catch(() => undefined));
    await a.session.start();
    await a.session.sendTurn('TOUCH_A');
    const p1 = await a.prompt(1);
    assert.equal(p1.kind, 'approval');
    assert.deepEqual(p1.kind === 'approval' && p1.session_rules, ['Bash(touch a.txt)']);
    await a.session.answerPrompt(p1.id, parseThreadAnswer(p1, 'always'));
    await a.turnEnds(1);
    assert.ok(existsSync(join(work, 'a.txt')));

    await a.session.sendTurn('TOUCH_A again');
    await a.turnEnds(2);
    assert.equal(a.events.filter((e) => e.type === 'prompt').length, 1, 'the same command ran with no new prompt');

    await a.session.sendTurn('TOUCH_B');
    const p2 = await a.prompt(2);
    assert.equal(p2.kind === 'approval' && (p2.tool.input as { command: string }).command, 'touch b.txt');
    await a.session.answerPrompt(p2.id, parseThreadAnswer(p2, 'yes'));
    await a.turnEnds(3);
    assert.ok(existsSync(join(work, 'b.txt')));
    assert.equal(existsSync(join(work, '.claude')), false, 'no .claude/ in the work folder');
    const sessionId = a.session.sessionId!;
    await a.session.stop({ graceMs: 5_000, killMs: 2_000 });

    // A new process resuming the session, with the granted rule handed back: no prompt for it.
    const b = live(
      createAgentSession('claude_code', {
        ...options,
        resumeSessionId: sessionId,
        grantedRules: ['Bash(touch a.txt)'],
      }),
    );
    t.after(() => b.session.stop({ graceMs: 2_000, killMs: 2_000 }).catch(() => undefined));
    await b.session.start();
    await b.session.sendTurn('TOUCH_A after the restart');
    await b.turnEnds(1);
    assert.equal(b.events.filter((e) => e.type === 'prompt').length, 0, 'granted rule honoured after --resume');
    assert.equal(existsSync(join(work, '.claude')), false);
    await b.session.stop({ graceMs: 5_000, killMs: 2_000 });
    // Only the mock was talked to (every request reached it; the environment has no other endpoint).
    assert.ok(mock.requests.every((r) => r.path.startsWith('/v1/messages')));
  },
);
