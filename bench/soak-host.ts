/**
 * The soak's worker process (bench/soak.ts): the real WorkerHost (`createWorkerHost`, what `blobhub-worker start`
 * and the desktop run) on `--home`, in a process of its own so its RSS and open descriptors are measured alone.
 * The soak drives it over the Node IPC channel: `{type: 'reload'}` runs `host.reloadConfig()` (the desktop's
 * Reload config) and answers `{type: 'reloaded', ms}`; SIGTERM stops it gracefully. Log lines: JSON on stderr,
 * like `start`.
 */
import { createWorkerHost } from '../main/core/worker';
import { createLogger, streamSink } from '../main/core/log';

const home = process.argv[2];
if (!home || !process.send) {
  process.stderr.write('usage: node --import tsx bench/soak-host.ts <home> (with an IPC channel)\n');
  process.exit(2);
}

const logger = createLogger({ sinks: [streamSink(process.stderr)], fields: { component: 'worker' } });
const host = createWorkerHost({ home, logger });
let stopping = false;

process.on('message', (m: { type?: string }) => {
  if (m?.type !== 'reload' || stopping) return;
  const started = Date.now();
  host.reloadConfig().then(
    () => process.send?.({ type: 'reloaded', ms: Date.now() - started, phase: host.snapshot().phase }),
    (e: unknown) => process.send?.({ type: 'reload_failed', message: String(e) }),
  );
});

const stop = (): void => {
  if (stopping) return;
  stopping = true;
  host.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

host.start().then(
  () => {
    const snap = host.snapshot();
    if (snap.phase !== 'running') {
      process.stderr.write(`soak-host: worker did not start: ${JSON.stringify(snap.preflight_error)}\n`);
      process.exit(1);
    }
    process.send?.({ type: 'started', pid: process.pid });
  },
  (e: unknown) => {
    process.stderr.write(`soak-host: ${String(e)}\n`);
    process.exit(1);
  },
);
