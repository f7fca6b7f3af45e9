/**
 * `blobhub-worker reset <section> <thread-alias>`: `failed`/`completed` → `pending` on the server
 * (read-modify-write of the envelope, protocol §6.4). Works whether or not a worker runs: a running worker
 * sees the change through its change feed. Unknown section/alias or a pending/active thread → exit 1.
 */
import { WorkerError } from '../../core/errors';
import { silentLogger } from '../../core/log';
import { BlobHubClient } from '../../core/api/client';
import { patchThreadMetadata } from '../../core/harness/envelope';
import type { BlobHubApi, CallOptions, SessionRef } from '../../core/api/types';
import { loadCredentials } from '../../core/preflight';
import { loadConfigFile } from '../../core/state/config';
import { jobIdFor, type StatePaths } from '../../core/state/paths';
import type { ParsedArgs } from '../args';
import { writeJson } from '../output';

/** Bounded: a CLI command retries transient failures for a while, then reports them. */
const RESET_DEADLINE_MS = 20_000;

const RESETTABLE = ['failed', 'completed'];

/**
 * Read-modify-write through the harness's one RMW helper: only `instance.state` changes, and nothing is
 * written unless the thread is failed/completed. Returns the previous state.
 */
async function resetThreadToPending(
  api: BlobHubApi,
  ref: SessionRef,
  alias: string,
  options: CallOptions,
): Promise<string> {
  let seen: unknown;
  const outcome = await patchThreadMetadata(
    api,
    ref,
    alias,
    (metadata) => {
      const instance = (metadata.instance ?? {}) as Record<string, unknown>;
      seen = instance.state;
      if (typeof seen !== 'string' || !RESETTABLE.includes(seen)) return null;
      return { ...metadata, instance: { ...instance, state: 'pending' } };
    },
    { deadlineMs: options.deadlineMs },
  );
  if (outcome === 'missing')
    throw new WorkerError('NOT_FOUND', `no session object "${alias}" in session ${ref.session_id}`);
  if (outcome !== 'written') {
    if (typeof seen !== 'string') {
      throw new WorkerError('NOT_FOUND', `"${alias}" is not a worker thread (no value.thread.metadata.instance.state)`);
    }
    throw new WorkerError(
      'INVALID_STATE',
      `thread "${alias}" is ${seen}; only failed or completed threads can be reset`,
    );
  }
  return seen as string;
}

export async function resetCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const [selector, alias] = args.positionals as [string, string];
  const credentials = await loadCredentials(paths);
  const { config } = await loadConfigFile(paths.config);
  const matches = config.sections.filter(
    (s) => s.name === selector || s.session.session_id === selector || jobIdFor(s.session.session_id) === selector,
  );
  if (matches.length === 0) {
    const known = config.sections.map((s) => s.name ?? s.session.session_id).join(', ');
    throw new WorkerError('NOT_FOUND', `no section "${selector}" in config.yaml (sections: ${known})`);
  }
  if (matches.length > 1)
    throw new WorkerError('NOT_FOUND', `"${selector}" names more than one section; use its session_id`);
  const section = matches[0];
  const client = new BlobHubClient({
    apiUrl: credentials.api.url,
    apiKey: credentials.api.key,
    logger: silentLogger,
    backoffMaxMs: config.polling.backoff_max_ms,
  });
  try {
    const previous = await resetThreadToPending(client, section.session, alias, { deadlineMs: RESET_DEADLINE_MS });
    const label = section.name ?? section.session.session_id;
    if (args.json)
      writeJson({ section: label, session_id: section.session.session_id, alias, previous, state: 'pending' });
    else process.stdout.write(`Thread ${alias} in section ${label}: ${previous} → pending.\n`);
    return 0;
  } finally {
    client.close();
  }
}
