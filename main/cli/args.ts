/**
 * argv parsing for `blobhub-worker` (decisions §2) on top of node:util parseArgs. Options may appear
 * anywhere (tests append `--home DIR` last); each command accepts only its own flags, anything else is a
 * usage error (exit 2).
 */
import { parseArgs } from 'node:util';
import { WorkerError } from '../core/errors';

export const COMMANDS = ['login', 'start', 'whoami', 'status', 'reset'] as const;
export type Command = (typeof COMMANDS)[number];

const OPTIONS = {
  home: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  json: { type: 'boolean' },
  'api-url': { type: 'string' },
  'realtime-url': { type: 'string' },
  'api-key-stdin': { type: 'boolean' },
  'no-input': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;

type OptionName = keyof typeof OPTIONS;

const GLOBAL: readonly OptionName[] = ['home', 'help', 'version'];
const ALLOWED: Record<Command, readonly OptionName[]> = {
  login: ['api-url', 'realtime-url', 'api-key-stdin', 'no-input', 'yes'],
  start: ['json'],
  whoami: ['json'],
  status: ['json'],
  reset: ['json'],
};
const POSITIONALS: Record<Command, { count: number; usage: string }> = {
  login: { count: 0, usage: 'login [--api-url URL] [--realtime-url URL] [--api-key-stdin] [--no-input] [--yes]' },
  start: { count: 0, usage: 'start [--json]' },
  whoami: { count: 0, usage: 'whoami [--json]' },
  status: { count: 0, usage: 'status [--json]' },
  reset: { count: 2, usage: 'reset <section> <thread-alias>' },
};

export interface ParsedArgs {
  command: Command | null;
  positionals: string[];
  home: string | undefined;
  help: boolean;
  version: boolean;
  json: boolean;
  apiUrl: string | undefined;
  realtimeUrl: string | undefined;
  apiKeyStdin: boolean;
  noInput: boolean;
  yes: boolean;
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
    throw new WorkerError('USAGE', (e as Error).message.split('\n')[0]!);
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
        throw new WorkerError('USAGE', `option --${t.name} is not accepted by "${command}"; usage: ${usageOf(command)}`);
      }
    }
    const want = POSITIONALS[command].count;
    if (rest.length !== want) {
      throw new WorkerError('USAGE', `"${command}" takes ${want === 0 ? 'no arguments' : `${want} arguments`}; usage: ${usageOf(command)}`);
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
    apiUrl: values['api-url'],
    realtimeUrl: values['realtime-url'],
    apiKeyStdin: values['api-key-stdin'] === true,
    noInput: values['no-input'] === true,
    yes: values.yes === true,
  };
}

export const HELP = `blobhub-worker — runs coding agents (Claude Code, Codex) for BlobHub sessions

Usage:
  blobhub-worker login [--api-url URL] [--realtime-url URL] [--api-key-stdin] [--no-input] [--yes]
  blobhub-worker start [--json]
  blobhub-worker whoami [--json]
  blobhub-worker status [--json]
  blobhub-worker reset <section> <thread-alias>
  blobhub-worker --help | --version

Commands:
  login    verify an API key (GET /users/me) and store it in credentials.yaml (0600) and identity.yaml
  start    run preflight, then every section of config.yaml until SIGINT/SIGTERM (JSON log lines on stderr)
  whoami   the recorded identity, the API URL and the state root (never the key)
  status   local state: is a worker running, sections, threads (works with or without a running worker)
  reset    set a failed/completed thread's instance.state back to pending on the server
           (<section> = its name, session_id or job id in config.yaml)

Options:
  --home DIR         state root (default: $BLOBHUB_WORKER_HOME, else ~/.blobhub-worker)
  --api-url URL      login: REST API URL (default https://api.blobhub.io/v1)
  --realtime-url URL login: realtime WebSocket URL (optional)
  --api-key-stdin    login: read the API key from stdin
  --no-input         login: never prompt (a missing key is an error)
  -y, --yes          login: confirm replacing a different recorded identity
  --json             machine-readable output
  -h, --help         this help
  --version          print the version

Exit status: 0 ok; 1 error; 2 usage; 10–19 preflight codes; 20 API unreachable. See docs/cli.md.
`;
