/**
 * `npm run emulator` (dist/emulator.js): a local BlobHub on 127.0.0.1 with a worker user, a human user and an
 * empty session both can access, printed with a ready-to-paste config.yaml section, the login command (as
 * `npm run cli -- login …` and `blobhub-worker login …`) and a ready-to-run hand-off `curl`.
 * Runs until SIGINT/SIGTERM, then closes every socket and exits 0. Bad flags exit 2.
 */
import { tmpdir } from 'node:os';
import { createLogger, streamSink } from '../core/log';
import { startEmulator } from './index';

const USAGE =
  'usage: emulator [--port N] [--page-size N] [--item-size-cap BYTES] [--item-stamp-repeat N] [--json] [--verbose]';

interface Flags {
  port: number;
  pageSize: number;
  itemStampRepeat: number;
  itemSizeCap: number;
  json: boolean;
  verbose: boolean;
}

class UsageError extends Error {}

function intFlag(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined || !/^\d+$/.test(raw)) throw new UsageError(`${name} needs an integer value`);
  const n = Number(raw);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}`);
  return n;
}

export function parseFlags(argv: string[]): Flags {
  const flags: Flags = {
    port: 0,
    pageSize: 50,
    itemStampRepeat: 1,
    itemSizeCap: 1024 * 1024,
    json: false,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (name === '--port') flags.port = intFlag(name, value(), 0, 65535);
    else if (name === '--page-size') flags.pageSize = intFlag(name, value(), 1, 10_000);
    else if (name === '--item-stamp-repeat') flags.itemStampRepeat = intFlag(name, value(), 1, 10_000);
    else if (name === '--item-size-cap') flags.itemSizeCap = intFlag(name, value(), 1, 64 * 1024 * 1024);
    else if (name === '--json') flags.json = true;
    else if (name === '--verbose') flags.verbose = true;
    else throw new UsageError(`unknown argument ${arg}`);
  }
  return flags;
}

/** Single-quotes a string for a POSIX shell. */
const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * A ready-to-run hand-off: the control API's `uploadObject` as the human user, with the thread envelope shape
 * the worker reads (`{type: thread, thread: {attributes, metadata: {workspace, agent, instance}}}`). The same
 * layout as README's quick start.
 */
function handoffCurl(o: {
  controlUrl: string;
  humanId: string;
  session: { revision_id: string; session_id: string };
  alias: string;
  workFolder: string;
}): string {
  const j = JSON.stringify;
  const body = [
    '{',
    `  "userId": ${j(o.humanId)}, "ref": {"revision_id": ${j(o.session.revision_id)}, "session_id": ${j(o.session.session_id)}}, "alias": ${j(o.alias)},`,
    `  "value": {"type": "thread", "thread": {"attributes": {"name": ${j(o.alias)}}, "metadata": {`,
    `    "workspace": {"work_folder": ${j(o.workFolder)}}, "agent": {"type": "claude_code"},`,
    '    "instance": {"state": "pending"}}}}}',
  ].join('\n');
  return `curl -s ${o.controlUrl}/uploadObject -H 'content-type: application/json' -d ${shellQuote(body)}`;
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`emulator: ${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const logger = createLogger({ sinks: [streamSink(process.stderr)], minLevel: flags.verbose ? 'debug' : 'warning' });
  let emulator;
  try {
    emulator = await startEmulator({
      port: flags.port,
      pageSize: flags.pageSize,
      itemStampRepeat: flags.itemStampRepeat,
      itemSizeCap: flags.itemSizeCap,
      logger,
    });
  } catch (e) {
    process.stderr.write(`emulator: cannot listen on 127.0.0.1:${flags.port}: ${(e as Error).message}\n`);
    process.exit(1);
  }
  // Stop handlers go in before the ready text, so a script that sends SIGTERM on reading it gets a clean close.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const { control } = emulator;
  const worker = control.createUser({ name: 'Worker', email: 'worker@example.test' });
  const human = control.createUser({ name: 'Human', email: 'human@example.test' });
  const session = control.createSession({ members: [worker.user_id, human.user_id] });

  const login = `login --api-url ${emulator.apiUrl} --realtime-url ${emulator.realtimeUrl} --api-key-stdin`;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ apiUrl: emulator.apiUrl, realtimeUrl: emulator.realtimeUrl, controlUrl: emulator.controlUrl, worker, human, session })}\n`,
    );
  } else {
    process.stdout.write(
      [
        'BlobHub emulator running (Ctrl-C to stop)',
        `  REST API:     ${emulator.apiUrl}`,
        `  Realtime:     ${emulator.realtimeUrl}`,
        `  Control API:  ${emulator.controlUrl}`,
        `  Worker user:  ${worker.user_id}  key: ${worker.api_key}`,
        `  Human user:   ${human.user_id}  key: ${human.api_key}`,
        `  Session:      org_id=${session.org_id} blob_id=${session.blob_id} revision_id=${session.revision_id} session_id=${session.session_id}`,
        '',
        'config.yaml:',
        'sections:',
        '  - name: emulator',
        '    job_type: session_agent_harness',
        '    session:',
        `      org_id: ${session.org_id}`,
        `      blob_id: ${session.blob_id}`,
        `      revision_id: ${session.revision_id}`,
        `      session_id: ${session.session_id}`,
        '',
        'Log the worker in (from this repository; `blobhub-worker login` is the same once it is on your PATH):',
        `  printf '%s' '${worker.api_key}' | npm run cli -- ${login}`,
        `  printf '%s' '${worker.api_key}' | blobhub-worker ${login}`,
        'then replace the `sections: []` line of ~/.blobhub-worker/config.yaml with the entry above and run `npm start`.',
        '',
        'Hand a thread to the worker (as the human user; work_folder is where the agent runs — use your project folder):',
        '  ' +
          handoffCurl({
            controlUrl: emulator.controlUrl,
            humanId: human.user_id,
            session,
            alias: 'try-1',
            workFolder: tmpdir(),
          }),
        '',
      ].join('\n'),
    );
  }
}

void main();
