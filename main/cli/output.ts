/**
 * What the CLI prints for errors (protocol §2): exactly one JSON line `{level, code, message, remediation}`
 * on stderr, plus a plain-language line only when stderr is a terminal. Never a stack trace; every string
 * passes through `redact`, so a registered key cannot leak even through an unexpected message.
 */
import { WorkerError, toWorkerError } from '../core/errors';
import { redact } from '../core/log';

export function printError(e: unknown, stderr: NodeJS.WriteStream = process.stderr, command?: string | null): number {
  const err = e instanceof WorkerError ? e : toWorkerError(e);
  const line = { ...err.toJSON(), message: redact(err.message), remediation: oneShotRemediation(err, command) };
  stderr.write(JSON.stringify(line) + '\n');
  if (stderr.isTTY) stderr.write(`Error: ${line.message}\n  → ${line.remediation}\n`);
  return err.exitStatus;
}

/**
 * The registry's API_NETWORK_ERROR remediation speaks for the running worker ("retried automatically"); a CLI
 * command that fails with it has already made its bounded attempts and given up, so say what to do instead.
 */
function oneShotRemediation(err: WorkerError, command?: string | null): string {
  if (err.code !== 'API_NETWORK_ERROR' || !command) return err.remediation;
  const url =
    command === 'login'
      ? 'the API URL (--api-url)'
      : 'the API URL (api.url in credentials.yaml; `blobhub-worker whoami` shows it)';
  return `Check the network and ${url}, then run \`blobhub-worker ${command}\` again.`;
}

/** Converts an unexpected exception into INTERNAL_ERROR with a one-line message (no stack). */
export function unexpected(e: unknown): WorkerError {
  if (e instanceof WorkerError) return e;
  const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
  return new WorkerError('INTERNAL_ERROR', `unexpected failure: ${redact(msg)}`);
}

export function writeJson(value: unknown, stdout: NodeJS.WritableStream = process.stdout): void {
  stdout.write(redact(JSON.stringify(value)) + '\n');
}
