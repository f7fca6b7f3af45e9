/**
 * What the sandbox plays: the demo threads, the demo human's lines, and the scripted demo agent's turns in the
 * agent simulator's scenario format (docs/agents.md "Scenario format"; engine: ./agent-sim/claude.mjs).
 * Turns are picked by markers contained in the human's text, so one scenario file serves every thread.
 */

/** The thread handed off to the demo agent: live items, an approval, a two-question prompt, a human reply. */
export const LOGIN_THREAD = {
  alias: 'fix-login',
  name: 'Fix the empty-password login',
  folder: 'demo-app',
  opening: 'The login form accepts an empty password. Can you look into it and propose a fix with a test?',
  /** Posted by the demo human after the agent's first turn ends (the inbound path). */
  reply: 'Sounds good, go ahead with the inline error. Please also add a line to the CHANGELOG.',
} as const;

/** The thread whose work folder does not exist at handoff: WORK_FOLDER_NOT_FOUND, then a one-click reset. */
export const DOCS_THREAD = {
  alias: 'update-docs',
  name: 'Proofread the getting-started page',
  folder: 'docs-site',
  opening: 'Please proofread docs/getting-started.md and tell me what needs fixing.',
} as const;

export const APPROVAL_COMMAND = 'npm test -- login';

export const QUESTIONS = [
  {
    question: 'How should an empty password be reported?',
    header: 'Message',
    multiSelect: false,
    options: [
      { label: 'Inline error', description: 'Show "Enter your password" under the field' },
      { label: 'Toast', description: 'A short notification at the top of the page' },
    ],
  },
  {
    question: 'Which cases should the new test cover?',
    header: 'Tests',
    multiSelect: true,
    options: [{ label: 'Empty password' }, { label: 'Whitespace-only password' }, { label: 'Missing field' }],
  },
] as const;

const pause = (ms: number) => ({ sleep: ms });

/**
 * The demo agent's scenario. `Read`/`Edit` steps have `ask: false`: the demo work folder's
 * `.claude/settings.json` allows them (as a real project's allow-list would), so only the test run asks.
 */
export function demoScenario(pace = 1): Record<string, unknown> {
  const p = (ms: number) => pause(Math.round(ms * pace));
  return {
    markers: {
      'empty password': {
        usage: { input_tokens: 1840, cache_read_input_tokens: 12_000, output_tokens: 412, total_cost_usd: 0.0213 },
        steps: [
          p(400),
          {
            thinking:
              'The login form accepts an empty password. I should read the validation code, run the login tests to see the current behaviour, and ask how the error should look before proposing a change.',
          },
          p(400),
          { text: "I'll read the login validation and run the existing tests first." },
          p(300),
          {
            tool: {
              name: 'Read',
              ask: false,
              input: { file_path: 'src/login.js' },
              output:
                "export function validate({ email, password }) {\n  if (!email) return 'Enter your email';\n  if (password === undefined) return 'Enter your password';\n  return null;\n}",
            },
          },
          p(300),
          {
            tool: {
              name: 'Bash',
              description: 'Run the login tests',
              input: { command: APPROVAL_COMMAND, description: 'Run the login tests' },
              output:
                '> demo-app@1.0.0 test\n> node --test login\n\n✔ accepts a valid password\n✔ rejects a wrong password\n✖ rejects an empty password (expected an error, got null)\n\n2 passing, 1 failing',
            },
          },
          p(400),
          {
            text: 'Confirmed: `validate` only rejects a missing password, not an empty one. Two quick questions before I change anything.',
          },
          p(300),
          { ask: { questions: QUESTIONS } },
          p(400),
          {
            text: 'Thanks. Plan: reject empty and whitespace-only passwords in `validate`, show the message the way you chose, and cover the cases you picked in `test/login.test.js`. Shall I go ahead?',
          },
        ],
      },
      CHANGELOG: {
        usage: { input_tokens: 2310, cache_read_input_tokens: 14_000, output_tokens: 280, total_cost_usd: 0.0164 },
        steps: [
          p(400),
          { thinking: 'The user approved the plan and asked for a CHANGELOG line too.' },
          p(300),
          {
            tool: {
              name: 'Edit',
              ask: false,
              input: {
                file_path: 'src/login.js',
                old_string: 'if (password === undefined)',
                new_string: 'if (!password || !password.trim())',
              },
              output: 'The file src/login.js has been updated.',
            },
          },
          p(300),
          {
            tool: {
              name: 'Edit',
              ask: false,
              input: {
                file_path: 'CHANGELOG.md',
                old_string: '## Unreleased',
                new_string: '## Unreleased\n- Login: an empty password is now rejected.',
              },
              output: 'The file CHANGELOG.md has been updated.',
            },
          },
          p(300),
          {
            text: "Done: empty and whitespace-only passwords are rejected, and the CHANGELOG has a line for it. (This is the sandbox's scripted demo agent: it plays the conversation, it does not really edit files.)",
          },
        ],
      },
      proofread: {
        usage: { input_tokens: 960, cache_read_input_tokens: 0, output_tokens: 190, total_cost_usd: 0.0071 },
        steps: [
          p(300),
          { thinking: 'Read the page and list what needs fixing.' },
          p(300),
          {
            tool: {
              name: 'Read',
              ask: false,
              input: { file_path: 'docs/getting-started.md' },
              output:
                '# Getting started\n\nYou will recieve an email with a link.\nKeep the two keys seperate.\nSee [install](/instal) for details.',
            },
          },
          p(300),
          {
            text: 'Three things to fix on that page: "recieve" → "receive", "seperate" → "separate", and the install link points to `/instal`. Want me to fix them?',
          },
        ],
      },
    },
    default: {
      steps: [p(300), { text: "I am the sandbox's demo agent: I only know the scripted demo conversation." }],
    },
  };
}

/** The demo work folders' files (the README says what they are). */
export const DEMO_FILES: Record<string, Record<string, string>> = {
  [LOGIN_THREAD.folder]: {
    'README.md':
      '# demo-app\n\nA work folder created by the BlobHub Worker sandbox. The demo agent never changes it.\n',
    'src/login.js':
      "export function validate({ email, password }) {\n  if (!email) return 'Enter your email';\n  if (password === undefined) return 'Enter your password';\n  return null;\n}\n",
    'CHANGELOG.md': '# Changelog\n\n## Unreleased\n',
    '.claude/settings.json':
      JSON.stringify({ permissions: { allow: ['Read', 'Edit(src/**)', 'Edit(CHANGELOG.md)'] } }, null, 2) + '\n',
  },
  [DOCS_THREAD.folder]: {
    'docs/getting-started.md':
      '# Getting started\n\nYou will recieve an email with a link.\nKeep the two keys seperate.\nSee [install](/instal) for details.\n',
  },
};
