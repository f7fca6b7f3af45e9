/**
 * argv parsing for `blobhub-worker` (protocol §2) on top of node:util parseArgs. Options may appear
 * anywhere (tests append `--home DIR` last); each command accepts only its own flags, anything else is a
 * usage error (exit 2).
 */
import { parseArgs } from 'node:util';
import { WorkerError } from '../core/errors';

export const COMMANDS = ['login', 'start', 'whoami', 'status', 'reset', 'interrupt', 'service'] as const;
export const SERVICE_ACTIONS = ['install', 'uninstall', 'status'] as const;
export type Command = (typeof COMMANDS)[number];

const OPTIONS = {
  home: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  json: { type: 'boolean' },
  tui: { type: 'boolean' },
  'api-url': { type: 'string' },
  'realtime-url': { type: 'string' },
  'api-key-stdin': { type: 'boolean' },
  'no-input': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  'allow-root': { type: 'boolean' },
  'no-start': { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;

const GLOBAL: readonly OptionName[] = ['home', 'help', 'version'];
const ALLOWED: Record<Command, readonly OptionName[]> = {
  login: ['api-url', 'realtime-url', 'api-key-stdin', 'no-input', 'yes'],
  start: ['json', 'tui'],
  whoami: ['json'],
  status: ['json'],
  reset: ['json'],
  interrupt: ['json'],
  service: ['json', 'allow-root', 'no-start'],
};
const POSITIONALS: Record<Command, { count: number; usage: string }> = {
  login: { count: 0, usage: 'login [--api-url URL] [--realtime-url URL] [--api-key-stdin] [--no-input] [--yes]' },
  start: { count: 0, usage: 'start [--tui] [--json]' },
  whoami: { count: 0, usage: 'whoami [--json]' },
  status: { count: 0, usage: 'status [--json]' },
  reset: { count: 2, usage: 'reset <section> <thread-alias> [--json]' },
  interrupt: { count: 2, usage: 'interrupt <section> <thread-alias> [--json]' },
  service: { count: 1, usage: 'service install|uninstall|status [--no-start] [--allow-root] [--json]' },
};

export interface ParsedArgs {
  command: Command | null;
  positionals: string[];
  home: string | undefined;
  help: boolean;
  version: boolean;
  json: boolean;
  tui: boolean;
  apiUrl: string | undefined;
  realtimeUrl: string | undefined;
  apiKeyStdin: boolean;
  noInput: boolean;
  yes: boolean;
  allowRoot: boolean;
  noStart: boolean;
}

export function usageOf(command: Command): string {
  return `blobhub-worker ${POSITIONALS[command].usage} [--home DIR]`;
}

export function parseCliArgs(argv: string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    // parseArgs messages are plain ("Unknown option '--x'"), safe to show.
    throw new WorkerError('USAGE', (e as Error).message.split('\n')[0]);
  }
  const { values, positionals, tokens } = parsed;
  const [first, ...rest] = positionals;
  let command: Command | null = null;
  if (first !== undefined) {
    if (!(COMMANDS as readonly string[]).includes(first)) {
      throw new WorkerError('USAGE', `unknown command "${first}" (commands: ${COMMANDS.join(', ')})`);
    }
    command = first as Command;
  }
  const help = values.help === true;
  if (command && !help) {
    const allowed = new Set<string>([...GLOBAL, ...ALLOWED[command]]);
    for (const t of tokens) {
      if (t.kind === 'option' && !allowed.has(t.name)) {
        throw new WorkerError(
          'USAGE',
          `option --${t.name} is not accepted by "${command}"; usage: ${usageOf(command)}`,
        );
      }
    }
    const want = POSITIONALS[command].count;
    if (rest.length !== want) {
      throw new WorkerError(
        'USAGE',
        `"${command}" takes ${want === 0 ? 'no arguments' : want === 1 ? 'one argument' : `${want} arguments`}; usage: ${usageOf(command)}`,
      );
    }
    if (command === 'service' && !(SERVICE_ACTIONS as readonly string[]).includes(rest[0])) {
      throw new WorkerError('USAGE', `unknown service action "${rest[0]}"; usage: ${usageOf(command)}`);
    }
    if (command === 'service' && rest[0] !== 'install' && values['no-start'] === true) {
      throw new WorkerError('USAGE', '--no-start is accepted by "service install" only');
    }
  }
  if (values.home !== undefined && values.home.trim() === '') throw new WorkerError('USAGE', '--home needs a folder');
  return {
    command,
    positionals: rest,
    home: values.home,
    help,
    version: values.version === true,
    json: values.json === true,
    tui: values.tui === true,
    apiUrl: values['api-url'],
    realtimeUrl: values['realtime-url'],
    apiKeyStdin: values['api-key-stdin'] === true,
    noInput: values['no-input'] === true,
    yes: values.yes === true,
    allowRoot: values['allow-root'] === true,
    noStart: values['no-start'] === true,
  };
}

/** One line (or two) per command, shared by the global help and `<command> --help`. */
const SUMMARY: Record<Command, string[]> = {
  login: ['verify an API key (GET /users/me) and store it in credentials.yaml (0600) and identity.yaml'],
  start: [
    'run preflight, then every section of config.yaml until SIGINT/SIGTERM (JSON log lines on stderr)',
    '(--tui: a live terminal dashboard; the log lines go to logs/<instance>/worker.jsonl)',
  ],
  whoami: ['the recorded identity, the API URL and the state root (never the key)'],
  status: ['local state: is a worker running, sections, threads (works with or without a running worker)'],
  reset: [
    "set a failed/completed thread's instance.state back to pending on the server",
    '(<section> = its name, session_id or job id in config.yaml)',
  ],
  interrupt: [
    "stop a thread's running turn in the running worker (the thread and the agent stay; like /stop)",
    '(talks to the worker through control.sock in the state root)',
  ],
  service: [
    'run the worker as a service of this user: a systemd user unit (Linux) or a launchd agent (macOS);',
    'install writes, enables and starts it; uninstall stops and removes it; status: enabled? running?',
  ],
};

/** `[option, column text, description]`; login-only options say so in the global help. */
const OPTION_HELP: Array<[OptionName, string, string]> = [
  ['home', '--home DIR', 'state root (default: $BLOBHUB_WORKER_HOME, else ~/.blobhub-worker)'],
  ['api-url', '--api-url URL', 'REST API URL (default https://api.blobhub.io/v1)'],
  ['realtime-url', '--realtime-url URL', 'realtime WebSocket URL (optional)'],
  ['api-key-stdin', '--api-key-stdin', 'read the API key from stdin'],
  ['no-input', '--no-input', 'never prompt (a missing key is an error)'],
  ['yes', '-y, --yes', 'confirm replacing a different recorded identity'],
  ['tui', '--tui', 'start: live terminal dashboard (q quits; headless when not a terminal)'],
  ['json', '--json', 'machine-readable output'],
  ['no-start', '--no-start', 'service install: enable, but do not start now'],
  ['allow-root', '--allow-root', 'service: as root, install a system-wide service (runs as root)'],
  ['help', '-h, --help', 'this help'],
  ['version', '--version', 'print the version'],
];

const optionLine = (column: string, text: string): string => `  ${column.padEnd(18)} ${text}`;
const onlyLogin = (name: OptionName): boolean =>
  ALLOWED.login.includes(name) && !COMMANDS.some((c) => c !== 'login' && ALLOWED[c].includes(name));

export const HELP = `blobhub-worker — runs coding agents (Claude Code, Codex) for BlobHub sessions

Usage:
${COMMANDS.map((c) => `  blobhub-worker ${POSITIONALS[c].usage}`).join('\n')}
  blobhub-worker --help | --version

Commands:
${COMMANDS.map((c) => SUMMARY[c].map((line, i) => `  ${(i === 0 ? c : '').padEnd(8)} ${line}`).join('\n')).join('\n')}

Options:
${OPTION_HELP.map(([name, column, text]) => optionLine(column, onlyLogin(name) ? `login: ${text}` : text)).join('\n')}

Environment:
  BLOBHUB_WORKER_HOME   the state root when --home is not given
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY
                        the proxy to BlobHub (loopback is always direct)

Exit status: 0 ok; 1 error; 2 usage; 10–19 preflight codes; 20 API unreachable; 21 bad proxy variable;
22 service command run as root without --allow-root.
See docs/cli.md.
`;

/** `blobhub-worker <command> --help`: that command's usage, summary and options only. */
export function commandHelp(command: Command): string {
  const accepted = new Set<OptionName>([...ALLOWED[command], 'home', 'help']);
  return [
    `Usage: ${usageOf(command)}`,
    '',
    ...SUMMARY[command].map((line) => `  ${line}`),
    '',
    'Options:',
    ...OPTION_HELP.filter(([name]) => accepted.has(name)).map(([, column, text]) => optionLine(column, text)),
    '',
    'Exit statuses and details: docs/cli.md.',
    '',
  ].join('\n');
}
