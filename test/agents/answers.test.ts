/** Protocol §9.2 / §9.2a answer rules, table-driven; the pending_prompt brief; answer descriptions. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeAnswer,
  formatPromptBrief,
  KEEP_PLANNING_MESSAGE,
  parseThreadAnswer,
  PLAN_SCOPE_NOTE,
  SESSION_SCOPE_UNAVAILABLE,
  settleScope,
  summarizeToolInput,
} from '../../main/core/agents/answers';
import type { AgentPrompt, PromptAnswer } from '../../main/core/agents/types';

const approval: AgentPrompt = {
  id: 'pr_1',
  kind: 'approval',
  tool: { name: 'Bash', invocation_id: 'tu_1', input: { command: 'npm test', description: 'Run tests' } },
  reason: 'Run tests',
};
const target = {
  question: "What's the deployment target?",
  header: 'Target',
  multi_select: false,
  options: [
    { label: 'staging', description: 'push to staging.example.com' },
    { label: 'production', description: 'push to www.example.com' },
  ],
};
const sizes = {
  question: 'Which sizes?',
  multi_select: true,
  options: [{ label: 'Small' }, { label: 'Medium' }, { label: 'Large' }],
};
const one: AgentPrompt = { id: 'pr_2', kind: 'ask_user_question', questions: [target] };
const multi: AgentPrompt = { id: 'pr_3', kind: 'ask_user_question', questions: [sizes] };
const several: AgentPrompt = { id: 'pr_4', kind: 'ask_user_question', questions: [target, sizes] };
const text: AgentPrompt = { id: 'pr_5', kind: 'text', question: 'Name?' };

const allow: PromptAnswer = { kind: 'approval', decision: 'allow', scope: 'once' };
const deny = (message: string): PromptAnswer => ({ kind: 'approval', decision: 'deny', message });
const ask = (answers: Record<string, string>): PromptAnswer => ({ kind: 'ask_user_question', answers });
const T = target.question;
const S = sizes.question;

const CASES: Array<[string, AgentPrompt, string, PromptAnswer]> = [
  // approval words, case- and space-insensitive
  ...['y', 'yes', 'approve', 'approved', 'allow', 'ok', '1', ' YES ', 'Ok', 'Allow\n'].map(
    (r): [string, AgentPrompt, string, PromptAnswer] => [
      `approval allow word ${JSON.stringify(r)}`,
      approval,
      r,
      allow,
    ],
  ),
  ...['n', 'no', 'deny', 'denied', 'reject', '2', 'NO', ' Deny '].map(
    (r): [string, AgentPrompt, string, PromptAnswer] => [
      `approval deny word ${JSON.stringify(r)}`,
      approval,
      r,
      deny('Denied by the user'),
    ],
  ),
  [
    'approval: other text denies with that text',
    approval,
    '  not on main, use a branch  ',
    deny('not on main, use a branch'),
  ],
  ['approval: "yes please" is not a bare yes', approval, 'yes please', deny('yes please')],
  ['approval: empty reply denies', approval, '   ', deny('Denied by the user')],
  // one question
  ['one question: number in range', one, '2', ask({ [T]: 'production' })],
  ['one question: number with spaces', one, ' 1 ', ask({ [T]: 'staging' })],
  ['one question: number out of range → free text', one, '3', ask({ [T]: '3' })],
  ['one question: zero → free text', one, '0', ask({ [T]: '0' })],
  ['one question: label, any case', one, 'PRODUCTION', ask({ [T]: 'production' })],
  ['one question: free text', one, 'somewhere else, maybe qa', ask({ [T]: 'somewhere else, maybe qa' })],
  ['one question: several numbers on single-select → free text', one, '1, 2', ask({ [T]: '1, 2' })],
  // multi-select
  ['multi-select: numbers', multi, '1, 3', ask({ [S]: 'Small, Large' })],
  ['multi-select: labels and numbers mixed, any case', multi, 'medium,3', ask({ [S]: 'Medium, Large' })],
  ['multi-select: one label', multi, 'small', ask({ [S]: 'Small' })],
  ['multi-select: duplicates collapse', multi, '1,1,small', ask({ [S]: 'Small' })],
  ['multi-select: one unknown part → free text', multi, '1, huge', ask({ [S]: '1, huge' })],
  // several questions
  ['several: 1)/2) lines', several, '1) 2\n2) 1, 2', ask({ [T]: 'production', [S]: 'Small, Medium' })],
  [
    'several: labels and free text per line',
    several,
    '1) Staging\n2) whatever fits',
    ask({ [T]: 'staging', [S]: 'whatever fits' }),
  ],
  [
    'several: lines in any order, blank lines ignored',
    several,
    '\n2) large\n\n1) 1\n',
    ask({ [T]: 'staging', [S]: 'Large' }),
  ],
  [
    'several: a continuation line joins the previous answer',
    several,
    '1) qa\nbut only today\n2) 2',
    ask({ [T]: 'qa\nbut only today', [S]: 'Medium' }),
  ],
  ['several: a missing line → every question gets the raw text', several, '1) 2', ask({ [T]: '1) 2', [S]: '1) 2' })],
  [
    'several: no numbering → raw text for all',
    several,
    'production and small',
    ask({ [T]: 'production and small', [S]: 'production and small' }),
  ],
  [
    'several: text before the first line → raw text',
    several,
    'hi\n1) 1\n2) 1',
    ask({ [T]: 'hi\n1) 1\n2) 1', [S]: 'hi\n1) 1\n2) 1' }),
  ],
  [
    'several: a number out of range → raw text',
    several,
    '1) 1\n2) 2\n3) 3',
    ask({ [T]: '1) 1\n2) 2\n3) 3', [S]: '1) 1\n2) 2\n3) 3' }),
  ],
  ['several: a duplicate number → raw text', several, '1) 1\n1) 2', ask({ [T]: '1) 1\n1) 2', [S]: '1) 1\n1) 2' })],
  // text
  ['text: the raw text', text, '  Ada Lovelace \n', { kind: 'text', text: 'Ada Lovelace' }],
];

for (const [name, prompt, reply, expected] of CASES) {
  test(`parseThreadAnswer — ${name}`, () => {
    assert.deepEqual(parseThreadAnswer(prompt, reply), expected);
  });
}

test('formatPromptBrief: ask_user_question exactly like the docs example', () => {
  assert.equal(
    formatPromptBrief(one),
    "❓ Provide input:\nWhat's the deployment target?\n  1. staging — push to staging.example.com\n  2. production — push to www.example.com\nReply with a number, the option text, or free text.",
  );
});

test('formatPromptBrief: approval, multi-select, several questions, text', () => {
  assert.equal(
    formatPromptBrief(approval),
    '❓ Approval needed: Bash → npm test\nRun tests\nReply yes to allow, no to deny, or write why to deny with a message.',
  );
  assert.equal(
    formatPromptBrief(multi),
    '❓ Provide input:\nWhich sizes?\n  1. Small\n  2. Medium\n  3. Large\nReply with numbers or option texts separated by commas, or free text.',
  );
  assert.equal(
    formatPromptBrief(several),
    '❓ Provide input:\n1) What\'s the deployment target?\n  1. staging — push to staging.example.com\n  2. production — push to www.example.com\n2) Which sizes? (several allowed, separated by commas)\n  1. Small\n  2. Medium\n  3. Large\nReply with one line per question ("1) …", "2) …"), each a number, the option text, or free text.',
  );
  assert.equal(formatPromptBrief(text), '❓ Provide input:\nName?\nReply with free text.');
  const codexPatch: AgentPrompt = {
    id: 'p',
    kind: 'approval',
    tool: {
      name: 'fileChange',
      invocation_id: 'c',
      input: {
        changes: [
          { path: '/a.txt', kind: 'add' },
          { path: '/b.txt', kind: 'update' },
        ],
      },
    },
  };
  assert.equal(formatPromptBrief(codexPatch).split('\n')[0], '❓ Approval needed: fileChange → /a.txt, /b.txt');
});

test('summarizeToolInput: per-tool fields of protocol §8.1, one line, ≤ 200 chars', () => {
  assert.equal(summarizeToolInput('Write', { content: 'x', file_path: '/a/b.txt' }), '/a/b.txt');
  assert.equal(summarizeToolInput('Grep', { pattern: 'foo.*bar', path: '.' }), 'foo.*bar');
  assert.equal(summarizeToolInput('WebFetch', { prompt: 'p', url: 'https://x.test' }), 'https://x.test');
  assert.equal(
    summarizeToolInput('commandExecution', { command: "/bin/bash -lc 'ls'", cwd: '/w' }),
    "/bin/bash -lc 'ls'",
  );
  assert.equal(summarizeToolInput('mcp__srv__tool', { n: 1, q: 'first string' }), 'first string');
  assert.equal(summarizeToolInput('Bash', { command: 'a\n  b' }), 'a b');
  assert.equal(summarizeToolInput('Bash', { command: 'x'.repeat(500) }).length, 200);
});

test('describeAnswer: short human strings', () => {
  assert.equal(describeAnswer(approval, allow), 'Allowed');
  assert.equal(describeAnswer(approval, deny('Denied by the user')), 'Denied');
  assert.equal(describeAnswer(approval, deny('use a branch')), 'Denied: use a branch');
  assert.equal(describeAnswer(one, ask({ [T]: 'production' })), 'production');
  assert.equal(
    describeAnswer(several, ask({ [T]: 'staging', [S]: 'Small, Large' })),
    'Target: staging; Which sizes?: Small, Large',
  );
  assert.equal(describeAnswer(text, { kind: 'text', text: 'Ada\nLovelace' }), 'Ada Lovelace');
});

// ------------------------------------------------------------------ protocol §9.2a: scopes, plans

const scoped: AgentPrompt = {
  id: 'pr_6',
  kind: 'approval',
  tool: { name: 'Bash', invocation_id: 'tu_6', input: { command: 'touch a.txt' } },
  session_rules: ['Bash(touch a.txt)'],
};
const plan: AgentPrompt = {
  id: 'pr_7',
  kind: 'plan',
  plan: '# Plan\n\n1. Read\n2. Edit',
  tool: { name: 'ExitPlanMode', invocation_id: 'tu_7', input: {} },
};

for (const word of [
  'always',
  'Always allow',
  'allow always',
  'YES ALWAYS',
  'a',
  'session',
  'allow for session',
  ' always. ',
  'session!',
]) {
  test(`parseThreadAnswer — session word ${JSON.stringify(word)} allows for the session with the prompt's rules`, () => {
    assert.deepEqual(parseThreadAnswer(scoped, word), {
      kind: 'approval',
      decision: 'allow',
      scope: 'session',
      rules: ['Bash(touch a.txt)'],
    });
  });
}

test('parseThreadAnswer — a session word with no rule offered is allow once, and says so', () => {
  const a = parseThreadAnswer(approval, 'always');
  assert.equal(a.kind, 'approval');
  assert.deepEqual(a, { kind: 'approval', decision: 'allow', scope: 'once', scope_note: SESSION_SCOPE_UNAVAILABLE });
  assert.equal(describeAnswer(approval, a), 'Allowed once (no session rule offered)');
});

test('parseThreadAnswer — once words with a final dot, deny words, free text on a scoped prompt', () => {
  assert.deepEqual(parseThreadAnswer(scoped, 'yes.'), { kind: 'approval', decision: 'allow', scope: 'once' });
  assert.deepEqual(parseThreadAnswer(scoped, 'No!'), deny('Denied by the user'));
  assert.deepEqual(parseThreadAnswer(scoped, 'always do it differently'), deny('always do it differently'));
});

test('parseThreadAnswer — plans: approve, keep planning, a message to keep planning with', () => {
  assert.deepEqual(parseThreadAnswer(plan, 'yes'), { kind: 'approval', decision: 'allow', scope: 'once' });
  assert.deepEqual(parseThreadAnswer(plan, 'always'), {
    kind: 'approval',
    decision: 'allow',
    scope: 'once',
    scope_note: PLAN_SCOPE_NOTE,
  });
  assert.deepEqual(parseThreadAnswer(plan, 'no'), deny(KEEP_PLANNING_MESSAGE));
  assert.deepEqual(parseThreadAnswer(plan, 'Use a branch first'), deny('Use a branch first'));
  assert.equal(describeAnswer(plan, parseThreadAnswer(plan, 'ok')), 'Plan approved');
  assert.equal(describeAnswer(plan, parseThreadAnswer(plan, 'no')), 'Keep planning');
  assert.equal(describeAnswer(plan, deny('Use a branch first')), 'Keep planning: Use a branch first');
});

test('settleScope: desktop answers get the same scope rules as thread answers', () => {
  const session: PromptAnswer = { kind: 'approval', decision: 'allow', scope: 'session' };
  assert.deepEqual(settleScope(scoped, session), { ...session, rules: ['Bash(touch a.txt)'] });
  assert.deepEqual(settleScope(plan, session), { ...session, scope: 'once', scope_note: PLAN_SCOPE_NOTE });
  assert.deepEqual(settleScope(scoped, { kind: 'approval', decision: 'allow' }), {
    kind: 'approval',
    decision: 'allow',
    scope: 'once',
  });
  // A deny never carries a scope, even if the caller sent one.
  assert.deepEqual(
    settleScope(scoped, { kind: 'approval', decision: 'deny', message: 'x', scope: 'session' }),
    deny('x'),
  );
  assert.equal(describeAnswer(scoped, settleScope(scoped, session)), 'Allowed for this session: Bash(touch a.txt)');
});

test('formatPromptBrief: scopes, diff summary and plans', () => {
  assert.equal(
    formatPromptBrief({ ...scoped, diff_summary: '+1 −0 a.txt' }),
    '❓ Approval needed: Bash → touch a.txt\n+1 −0 a.txt\n' +
      'Reply yes to allow once, always to allow for this session (Bash(touch a.txt)), no to deny, or write why to deny with a message.',
  );
  assert.equal(
    formatPromptBrief(plan),
    '📋 Plan approval needed:\n# Plan\n\n1. Read\n2. Edit\n' +
      'Reply yes to approve the plan and start, no to keep planning, or write what to change.',
  );
});
