/**
 * `blobhub-worker interrupt <section> <thread-alias>`: stops the thread's running turn in the running worker
 * (Claude `interrupt`, Codex `turn/interrupt`) through the worker's local control endpoint (main/core/control.ts:
 * a 0600 Unix socket in the state root; a named pipe on Windows). The thread and the agent stay; an open prompt is
 * cancelled with reason `interrupted`. No running worker, an unknown section/thread or no running turn → exit 1.
 */
import { WorkerError } from '../../core/errors';
import { sendControlRequest } from '../../core/control';
import type { StatePaths } from '../../core/state/paths';
import type { ParsedArgs } from '../args';
import { writeJson } from '../output';

export async function interruptCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const [section, alias] = args.positionals as [string, string];
  const response = await sendControlRequest(paths.root, { op: 'interrupt', section, alias });
  if (!response.ok) throw new WorkerError(response.code as never, response.message);
  if (args.json) writeJson({ ok: true, section, alias, interrupted: true });
  else process.stdout.write(`Stopped the running turn of ${alias} (section ${section}). The thread stays active.\n`);
  return 0;
}
