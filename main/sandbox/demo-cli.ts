/**
 * `npm run demo` (dist/demo.js): the desktop's sandbox, headless. Starts it with the autopilot (prompts are
 * answered in-process as the desktop's prompt window would, `answered_via: desktop`; the failed thread is reset
 * as the dashboard's button would), prints a timeline of everything that happens, then stops cleanly and prints
 * a summary. Exit 0 when every flow was seen; SANDBOX_DEMO_INCOMPLETE (exit 1) when the deadline passed first.
 *
 *   demo [--keep-running] [--timeout-ms N] [--pace X]
 */
import { fileURLToPath } from 'node:url';
import { WorkerError } from '../core/errors';
import { settleWithin } from '../core/util/timeout';
import { printError, unexpected } from '../cli/output';
import { startSandbox, type Sandbox } from './index';
import { DemoProgress, formatActivity } from './timeline';

const USAGE = 'usage: demo [--keep-running] [--timeout-ms N] [--pace X]';

interface Flags {
  keepRunning: boolean;
  timeoutMs: number;
  pace: number;
}

export function parseDemoFlags(argv: string[]): Flags {
  const flags: Flags = { keepRunning: false, timeoutMs: 25_000, pace: 1 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const value = () => (eq === -1 ? argv[++i] : arg.slice(eq + 1)) ?? '';
    if (name === '--keep-running') flags.keepRunning = true;
    else if (name === '--timeout-ms') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) < 1000 || Number(v) > 600_000)
        throw new WorkerError('USAGE', '--timeout-ms must be an integer between 1000 and 600000');
      flags.timeoutMs = Number(v);
    } else if (name === '--pace') {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0.1 || v > 10)
        throw new WorkerError('USAGE', '--pace must be a number between 0.1 and 10');
      flags.pace = v;
    } else throw new WorkerError('USAGE', `unknown argument ${arg}; ${USAGE}`);
  }
  return flags;
}

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const flags = parseDemoFlags(process.argv.slice(2));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const began = Date.now();
  // dist/demo.js → dist/agent-sim/; from source (tsx) main/sandbox/demo-cli.ts → main/sandbox/agent-sim/.
  const agentSimDir = fileURLToPath(new URL('./agent-sim/', import.meta.url));

  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({ agentSimDir, autopilot: true, pace: flags.pace });
  } catch (e) {
    throw e instanceof WorkerError ? e : new WorkerError('SANDBOX_START_FAILED', unexpected(e).message);
  }
  out('BlobHub Worker sandbox — a local demo, nothing leaves this machine');
  out(`  emulator   ${sandbox.apiUrl} (127.0.0.1 only)`);
  out(`  state root ${sandbox.stateRoot} (removed at the end)`);
  out('  agent      the scripted demo agent (agent simulator); prompts are answered in-process as the desktop would');
  out('');

  const progress = new DemoProgress();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const unsubscribe = sandbox.onActivity((a) => {
    out(formatActivity(a));
    progress.observe(a);
    if (progress.done) resolveDone();
  });

  let interrupted = false;
  const interrupt = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        interrupted = true;
        resolve();
      });
    }
  });

  if (flags.keepRunning) {
    // Left up for exploring (e.g. with `blobhub-worker status --home <state root>`) until Ctrl-C.
    void done.then(() =>
      out('\nEvery scripted flow ran. The sandbox keeps running (--keep-running); press Ctrl-C to stop.'),
    );
    await interrupt;
  } else {
    await settleWithin(Promise.race([done, interrupt]), flags.timeoutMs);
  }
  unsubscribe();
  const complete = progress.done;

  out('');
  out('Stopping the sandbox (worker, demo agent, emulator)…');
  await sandbox.stop();
  out('');
  out(`Summary (${((Date.now() - began) / 1000).toFixed(1)} s):`);
  for (const line of progress.summary()) out(line);
  if (flags.keepRunning) return 0;
  if (interrupted) {
    out('Interrupted.');
    return 130;
  }
  if (!complete) {
    throw new WorkerError(
      'SANDBOX_DEMO_INCOMPLETE',
      `the demo did not show every flow within ${flags.timeoutMs} ms (missing: ${progress.missing().join(', ')})`,
    );
  }
  out('Every flow ran; the sandbox stopped cleanly.');
  return 0;
}

main().then(
  (status) => process.exit(status),
  (e: unknown) => process.exit(printError(e instanceof WorkerError ? e : unexpected(e))),
);
