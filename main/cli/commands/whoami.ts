/** `blobhub-worker whoami`: the recorded identity, the API URL and the state root — never the key. */
import { WorkerError } from '../../core/errors';
import { credentialsMode } from '../../core/login';
import { resolveRealtimeUrl } from '../../core/api/realtime';
import { CredentialsFile, IdentityFile } from '../../core/state/schemas';
import { readYamlFile } from '../../core/state/yaml-file';
import type { StatePaths } from '../../core/state/paths';
import type { ParsedArgs } from '../args';
import { writeJson } from '../output';

export async function whoamiCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const identity = await readYamlFile(paths.identity, IdentityFile, { invalidCode: 'IDENTITY_NOT_FOUND' });
  if (!identity) throw new WorkerError('IDENTITY_NOT_FOUND', `not logged in: ${paths.identity} does not exist`);
  const mode = await credentialsMode(paths.credentials);
  let apiUrl: string | null = null;
  let realtimeUrl: string | null = null;
  let credentials: 'ok' | 'missing' | 'insecure' | 'invalid' = 'missing';
  if (mode !== null) {
    credentials = (mode & 0o077) !== 0 ? 'insecure' : 'ok';
    const creds = await readYamlFile(paths.credentials, CredentialsFile).catch(() => null);
    if (creds) {
      apiUrl = creds.api.url;
      realtimeUrl = resolveRealtimeUrl(creds.api);
    } else credentials = 'invalid';
  }
  const u = identity.user;
  const view = {
    user_id: u.user_id,
    name: u.name ?? null,
    email: u.email ?? null,
    recorded_at: u.recorded_at,
    api_url: apiUrl,
    realtime_url: realtimeUrl,
    credentials,
    state_root: paths.root,
  };
  if (args.json) {
    writeJson(view);
    return 0;
  }
  const who = [view.name, view.email ? `<${view.email}>` : null].filter(Boolean).join(' ');
  process.stdout.write(
    [
      `User:        ${who ? `${who} (${view.user_id})` : view.user_id}`,
      `Recorded at: ${view.recorded_at}`,
      `API URL:     ${view.api_url ?? '(no credentials.yaml — run `blobhub-worker login`)'}`,
      `Realtime:    ${view.realtime_url ?? 'off (polling only)'}`,
      `Credentials: ${paths.credentials} (${credentials})`,
      `State root:  ${view.state_root}`,
    ].join('\n') + '\n',
  );
  return 0;
}
