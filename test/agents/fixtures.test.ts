/**
 * The regression net: every captured transcript of the real CLIs (Claude Code 2.1.329, Codex 0.169.0) replayed
 * through the adapters' line parsers, with the expected event sequence written out per fixture, and every
 * line the worker would write compared with what the capture driver wrote (see replay.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CodexSession } from '../../main/core/agents/codex';
import { ThreadLog } from '../../main/core/agents/thread-log';
import type { AgentPrompt, PromptAnswer } from '../../main/core/agents/types';
import { parseThreadAnswer } from '../../main/core/agents/answers';

const say =
  (word: string) =>
  (p: AgentPrompt): PromptAnswer =>
    parseThreadAnswer(p, word);
import { FIXTURES, loadFixture, replayClaude, replayCodex, type ReplayOptions } from './replay';
import { tmpdir } from 'node:os';

const allow = (): PromptAnswer => ({ kind: 'approval', decision: 'allow' });
const deny = (message: string) => (): PromptAnswer => ({ kind: 'approval', decision: 'deny', message });
const pick =
  (label: string) =>
  (p: AgentPrompt): PromptAnswer =>
    p.kind === 'ask_user_question'
      ? { kind: 'ask_user_question', answers: { [p.questions[0].question]: label } }
      : allow();

const HELLO = 'text "Hello! This is the mock model replying t…"';
const GREETING = ['thinking "Simple greeting."', HELLO];

const CLAUDE: Record<string, { options?: ReplayOptions; expected: string[] }> = {
  '01-text-and-thinking': {
    expected: [
      'session a2f99220-210c-497b-b322-6228e2210585',
      ...GREETING,
      'turn_end completed in=120 cached=0 out=30 $0.00081',
    ],
  },
  '02-tool-use-permission-allowed': {
    options: { answer: allow },
    expected: [
      'session 48510ab7-d28f-4b0e-949f-45e8662f607a',
      'thinking "The user wants me to run a command. I wi…"',
      'text "Running a command now."',
      'tool_call Bash toolu_bash_1',
      'prompt approval Bash toolu_bash_1 "Create a file"',
      'tool_result toolu_bash_1 "created"',
      'text "Final answer after tool. Result was: cre…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
    ],
  },
  '03-tool-use-permission-denied': {
    options: { answer: deny('User denied: not allowed') },
    expected: [
      'session 0bd3a20f-e451-403a-a341-0d973247deef',
      'text "I will write a file."',
      'tool_call Write toolu_write_1',
      'prompt approval Write toolu_write_1 "hello.txt"',
      'tool_result toolu_write_1 ERROR "User denied: not allowed"',
      'text "Final answer after tool. Result was: Use…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
    ],
  },
  '04-no-prompt-tool-auto-denied': {
    expected: [
      'session f32df896-15dc-4051-bd8c-0845f60fc488',
      'text "I will write a file."',
      'tool_call Write toolu_write_1',
      'status permission_denied "Claude requested permissions to write to…"',
      'tool_result toolu_write_1 ERROR "Claude requested permissions t…"',
      'text "Final answer after tool. Result was: Cla…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
    ],
  },
  '05-ask-user-question': {
    options: { answer: pick('Blue') },
    expected: [
      'session 1964f656-12cb-4957-b589-427f53d84273',
      'text "I need to ask you something."',
      'tool_call AskUserQuestion toolu_ask_1',
      'prompt ask_user_question "Which color do you prefer?"',
      'tool_result toolu_ask_1 "Your questions have been answe…"',
      'text "Final answer after tool. Result was: You…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
    ],
  },
  '06-initialize-and-two-turns': {
    expected: [
      'session 053720b5-d2c7-4695-8c2a-bdc61c481208',
      ...GREETING,
      'turn_end completed in=120 cached=0 out=30 $0.00081',
      ...GREETING,
      'turn_end completed in=120 cached=0 out=30 $0.00162',
    ],
  },
  '07-resume-by-id': {
    options: { resumeSessionId: '053720b5-d2c7-4695-8c2a-bdc61c481208' },
    expected: [...GREETING, 'turn_end completed in=120 cached=0 out=30 $0.00243'],
  },
  // Before start() finishes, the error result is only remembered; start() rejects from the exit (claude.test.ts).
  '08-resume-unknown-id-error': {
    options: { resumeSessionId: '99999999-2222-4333-8444-555555555555', started: false },
    expected: [],
  },
  '09-include-partial-messages': {
    options: { answer: allow },
    expected: [
      'session b28afc5f-51bd-4346-a41d-287599782e31',
      'status requesting',
      'thinking "The user wants me to run a command. I wi…"',
      'text "Running a command now."',
      'tool_call Bash toolu_bash_1',
      'prompt approval Bash toolu_bash_1 "Create a file"',
      'tool_result toolu_bash_1 "created"',
      'status requesting',
      'text "Final answer after tool. Result was: cre…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
    ],
  },
  '10-api-error-400': {
    expected: [
      'session f2ab6c94-9c3f-4b19-8cb8-725d4f9e2962',
      'text "API Error: 400 mock bad request"',
      'turn_end failed in=0 cached=0 out=0 $0',
    ],
  },
  '11-interrupt-then-next-turn': {
    expected: [
      'session ddefea40-154e-4dad-8b65-1b867d0650a6',
      'turn_end interrupted in=0 cached=0 out=0 $0',
      ...GREETING,
      'turn_end completed in=120 cached=0 out=30 $0.00081',
    ],
  },
  '12-set-permission-mode': {
    expected: [
      'session 1a65cbe5-645a-4ce3-8038-801392e056a6',
      'status permission_mode "acceptEdits"',
      'text "I will write a file."',
      'tool_call Write toolu_write_1',
      'tool_result toolu_write_1 ERROR "<tool_use_error>File has not b…"',
      'text "Final answer after tool. Result was: <to…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
    ],
  },
  '13-skip-permissions-as-root-refused': { expected: [] },
  '14-skip-permissions-IS_SANDBOX': {
    options: { permissions: 'autonomous' },
    expected: [
      'session 7df7d593-9be0-4678-9279-5f5f8342bfc2',
      'text "I will write a file."',
      'tool_call Write toolu_write_1',
      'tool_result toolu_write_1 "File created successfully at: …"',
      'text "Final answer after tool. Result was: Fil…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
    ],
  },
  '15-fixed-session-id': {
    expected: [
      'session 11111111-2222-4333-8444-555555555555',
      ...GREETING,
      'turn_end completed in=120 cached=0 out=30 $0.00081',
    ],
  },
  '16-bypass-plus-stdio-ask-still-prompts': {
    options: { permissions: 'autonomous', answer: pick('Red') },
    expected: [
      'session ac387522-dc3b-4b7b-869b-ed95d2c754a2',
      'text "I need to ask you something."',
      'tool_call AskUserQuestion toolu_ask_1',
      'prompt ask_user_question "Which color do you prefer?"',
      'tool_result toolu_ask_1 "Your questions have been answe…"',
      'text "Final answer after tool. Result was: You…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
      'thinking "The user wants me to run a command. I wi…"',
      'text "Running a command now."',
      'tool_call Bash toolu_bash_4',
      'tool_result toolu_bash_4 "created"',
      'text "Final answer after tool. Result was: cre…"',
      'turn_end completed in=240 cached=0 out=60 $0.00324',
    ],
  },
  '17-resume-from-other-cwd': {
    options: { resumeSessionId: '11111111-2222-4333-8444-555555555555' },
    expected: [...GREETING, 'turn_end completed in=120 cached=0 out=30 $0.00162'],
  },

  // Captured with test/support/capture-claude.ts (protocol §9.2a scopes, interrupt during a prompt, plans, edits).
  '18-always-allow-session-rule': {
    // "always" each time: the answers carry updatedPermissions re-scoped to session, as the capture driver sent.
    options: { answer: say('always') },
    expected: [
      'session b685c0ce-df00-43ab-87c1-365f9460d7cc',
      'tool_call Bash toolu_mock_2',
      'prompt approval Bash toolu_mock_2 "Create a file"',
      'tool_result toolu_mock_2 "(Bash completed with no output…"',
      'text "Done: (Bash completed with no output)\\n\\n<…"',
      'turn_end completed in=240 cached=0 out=60 $0.00162',
      // The same command again: the session rule lets it run, no can_use_tool.
      'tool_call Bash toolu_mock_5',
      'tool_result toolu_mock_5 "(Bash completed with no output…"',
      'text "Done: (Bash completed with no output)\\n\\n<…"',
      'turn_end completed in=240 cached=0 out=60 $0.00324',
      'tool_call Bash toolu_mock_8',
      'prompt approval Bash toolu_mock_8 "Create another file"',
      'tool_result toolu_mock_8 "(Bash completed with no output…"',
      'text "Done: (Bash completed with no output)\\n\\n<…"',
      'turn_end completed in=240 cached=0 out=60 $0.00486',
    ],
  },
  '19-interrupt-during-permission': {
    expected: [
      'session ba3be64f-c94e-4c93-9eeb-cc98b0a4a6a2',
      'tool_call Bash toolu_mock_11',
      'prompt approval Bash toolu_mock_11 "Create a file"',
      // The CLI withdraws the request before it answers the interrupt.
      'prompt_cancelled agent_cancelled',
      'tool_result toolu_mock_11 ERROR "The user doesn\'t want to proce…"',
      'turn_end interrupted in=120 cached=0 out=30 $0.00081',
      'text "Done: The user doesn\'t want to proceed w…"',
      'turn_end completed in=120 cached=0 out=30 $0.00162',
    ],
  },
  '20-exit-plan-mode': {
    options: {
      answer: (() => {
        let n = 0;
        return (p: AgentPrompt) => parseThreadAnswer(p, n++ === 0 ? 'Add a test first' : 'yes');
      })(),
    },
    expected: [
      'session c77844d5-b797-4081-80a3-8df2fb9b8155',
      'tool_call EnterPlanMode toolu_mock_14',
      'status permission_mode "plan"',
      'tool_result toolu_mock_14 "Entered plan mode. You should …"',
      'tool_call ExitPlanMode toolu_mock_16',
      // The plan is on the model's tool_use; the can_use_tool request's input is empty.
      'prompt plan "# Plan\\n\\n1. Read f.txt\\n2. Edit it"',
      'tool_result toolu_mock_16 ERROR "Add a test first"',
      'tool_call ExitPlanMode toolu_mock_18',
      'prompt plan "# Plan v2\\n\\n1. Add a test\\n2. Edit f.txt"',
      'status permission_mode "default"',
      'tool_result toolu_mock_18 "User has approved exiting plan…"',
      'text "Done: User has approved exiting plan mod…"',
      'turn_end completed in=480 cached=0 out=120 $0.00324',
    ],
  },
  '21-edit-and-write-approvals': {
    // Edit and Write offer no addRules suggestion: "always" is allow once, no updatedPermissions on the wire.
    options: { answer: say('always') },
    expected: [
      'session 42a02b7d-efc7-490c-bb5f-babc8b020c40',
      'tool_call Read toolu_mock_21',
      'tool_result toolu_mock_21 "1\\tone\\n2\\ttwo\\n3\\t"',
      'tool_call Edit toolu_mock_23',
      'prompt approval Edit toolu_mock_23 "f.txt"',
      'tool_result toolu_mock_23 "The file /home/user/project/f.…"',
      'text "Done: The file /home/user/project/f.txt …"',
      'turn_end completed in=360 cached=0 out=90 $0.00243',
      'tool_call Write toolu_mock_26',
      'prompt approval Write toolu_mock_26 "new.txt"',
      'tool_result toolu_mock_26 "File created successfully at: …"',
      'text "Done: File created successfully at: /tmp…"',
      'turn_end completed in=240 cached=0 out=60 $0.00405',
    ],
  },
};

const PLAN = 'thinking "**Planning** I should answer."';
const DONE = 'text "Done. Tool output received."';
const TURN = 'turn_end completed in=100 cached=20 out=10';

const CODEX: Record<string, { options?: ReplayOptions; expected: string[] }> = {
  'appserver-01-command-and-patch-approved': {
    options: { answer: allow },
    expected: [
      'session 01a1fd0c-d011-7fd0-b27f-e228722f7dc5',
      PLAN,
      'tool_call commandExecution call_1',
      'prompt approval commandExecution call_1',
      'tool_result call_1 "ok\\n"',
      DONE,
      TURN,
      'tool_call fileChange call_3',
      'prompt approval fileChange call_3',
      'tool_result call_3 "completed:\\nadd /home/user/proj…"',
      DONE,
      TURN,
    ],
  },
  'appserver-02-command-declined': {
    options: { answer: deny('no') },
    expected: [
      'session 01a1fd0c-fdf5-7e40-825b-0f9801b65fa5',
      PLAN,
      'tool_call commandExecution call_1',
      'prompt approval commandExecution call_1',
      'tool_result call_1 ERROR "Declined by the user"',
      DONE,
      TURN,
    ],
  },
  'appserver-03-interrupt': {
    expected: ['session 01a1fd0d-29c0-72c1-8aec-d748c4887719', 'turn_end interrupted in=0 cached=0 out=0'],
  },
  'appserver-04-thread-resume': {
    options: { resumeSessionId: '01a1fd0c-d011-7fd0-b27f-e228722f7dc5' },
    expected: ['session 01a1fd0c-d011-7fd0-b27f-e228722f7dc5', PLAN, 'text "Hello from mock codex model."', TURN],
  },
  'appserver-05-on-request-escalation': {
    options: { answer: allow },
    expected: [
      'session 01a1fd0e-4985-78b3-acde-76414ed02f9c',
      PLAN,
      'tool_call commandExecution call_1',
      'prompt approval commandExecution call_1 "Need to write outside sandbox?"',
      'tool_result call_1 "done\\n"',
      DONE,
      TURN,
    ],
  },
  'appserver-06-untrusted-workspace-write-patch': {
    options: { answer: allow },
    expected: [
      'session 01a1fd0e-e03f-76b3-ad84-efac4b00050d',
      'tool_call fileChange call_1',
      'prompt approval fileChange call_1',
      'tool_result call_1 "completed:\\nadd /home/user/proj…"',
      DONE,
      TURN,
    ],
  },
  'appserver-07-never-danger-full-access': {
    options: { permissions: 'autonomous' },
    expected: [
      'session 01a1fd0e-e693-7300-b9e5-42c39eb72a69',
      PLAN,
      'tool_call commandExecution call_1',
      'tool_result call_1 "ok\\n"',
      DONE,
      TURN,
    ],
  },
};

test('every fixture has an expected sequence here (a new capture must be added on purpose)', () => {
  const claude = readdirSync(join(FIXTURES, 'claude')).map((f) => f.replace(/\.jsonl$/, ''));
  const codex = readdirSync(join(FIXTURES, 'codex'))
    .filter((f) => f.startsWith('appserver-'))
    .map((f) => f.replace(/\.jsonl$/, ''));
  assert.deepEqual(claude.sort(), Object.keys(CLAUDE).sort());
  assert.deepEqual(codex.sort(), Object.keys(CODEX).sort());
});

for (const [name, { options, expected }] of Object.entries(CLAUDE)) {
  test(`claude fixture ${name}`, async () => {
    const r = await replayClaude(`claude/${name}.jsonl`, options);
    assert.deepEqual(r.shown, expected);
  });
}

for (const [name, { options, expected }] of Object.entries(CODEX)) {
  test(`codex fixture ${name}`, async () => {
    const r = await replayCodex(`codex/${name}.jsonl`, options);
    assert.deepEqual(r.shown, expected);
  });
}

test('claude fixture 02/05: the prompt payloads in full', async () => {
  const approval = (await replayClaude('claude/02-tool-use-permission-allowed.jsonl', { answer: allow })).events.find(
    (e) => e.type === 'prompt',
  );
  assert.deepEqual(approval && approval.type === 'prompt' && { ...approval.prompt, id: 'ID' }, {
    id: 'ID',
    kind: 'approval',
    reason: 'Create a file',
    // The request's addRules suggestion, as "always" would grant it (protocol §9.2a).
    session_rules: ['Bash(touch made-by-bash.txt && echo created)'],
    tool: {
      name: 'Bash',
      invocation_id: 'toolu_bash_1',
      input: { command: 'touch made-by-bash.txt && echo created', description: 'Create a file' },
    },
  });
  const ask = (await replayClaude('claude/05-ask-user-question.jsonl', { answer: pick('Blue') })).events.find(
    (e) => e.type === 'prompt',
  );
  assert.deepEqual(ask && ask.type === 'prompt' && { ...ask.prompt, id: 'ID' }, {
    id: 'ID',
    kind: 'ask_user_question',
    questions: [
      {
        question: 'Which color do you prefer?',
        header: 'Color',
        multi_select: false,
        options: [
          { label: 'Red', description: 'Warm color' },
          { label: 'Blue', description: 'Cool color' },
        ],
      },
    ],
  });
});

test("claude fixture 02 in autonomous mode: the adapter itself sends the fixture's allow response", async () => {
  const r = await replayClaude('claude/02-tool-use-permission-allowed.jsonl', { permissions: 'autonomous' });
  assert.ok(!r.shown.some((s) => s.startsWith('prompt')));
});

test('codex exec fixtures (exec --json) are not the app-server protocol: fed to the adapter they are skipped, never crash', () => {
  for (const f of readdirSync(join(FIXTURES, 'codex')).filter((n) => n.startsWith('exec-'))) {
    const session = new CodexSession({
      executable: '/x',
      cwd: '/w',
      permissions: 'approval',
      logFile: '/dev/null',
      threadLog: new ThreadLog(join(tmpdir(), 'bhw-exec-replay.log')),
    });
    const events: unknown[] = [];
    session.onEvent((e) => events.push(e));
    session.attachReplay(() => undefined);
    for (const rec of loadFixture(`codex/${f}`)) if (rec.dir === 'stdout') session.handleLine(JSON.stringify(rec.msg));
    assert.deepEqual(events, [], f);
  }
});
