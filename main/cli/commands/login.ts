/**
 * `blobhub-worker login`: gathers URL + key (flags, stdin, or prompts), then runs the core `login()`.
 * The key is read without echo and never printed.
 */
import { WorkerError } from '../../core/errors';
import { registerSecret, silentLogger } from '../../core/log';
import { login } from '../../core/login';
import { DEFAULT_API_URL } from '../../core/api/client';
import { CredentialsFile } from '../../core/state/schemas';
import { readYamlFile } from '../../core/state/yaml-file';
import type { StatePaths } from '../../core/state/paths';
import type { ParsedArgs } from '../args';
import { Prompter, readAllStdin } from '../prompt';

export async function loginCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  // The URL offered by default: the one already stored (a refresh), else the public API.
  const existing = await readYamlFile(paths.credentials, CredentialsFile).catch(() => undefined);
  const defaultUrl = existing?.api.url ?? DEFAULT_API_URL;
  const interactive = !args.noInput && !args.apiKeyStdin;
  const prompter = interactive ? new Prompter() : null;
  try {
    let apiUrl = args.apiUrl;
    if (apiUrl === undefined) {
      if (prompter) {
        const answer = await prompter.line(`BlobHub API URL [${defaultUrl}]: `);
        apiUrl = answer?.trim() || defaultUrl;
      } else apiUrl = defaultUrl;
    }

    let apiKey: string | null;
    if (args.apiKeyStdin) {
      apiKey =
        (await readAllStdin())
          .split(/\r?\n/)
          .map((l) => l.trim())
          .find((l) => l !== '') ?? null;
    } else if (prompter) {
      apiKey = (await prompter.secret('API key (input hidden): '))?.trim() ?? null;
    } else {
      throw new WorkerError('USAGE', 'no API key: --no-input never prompts; pass the key with --api-key-stdin');
    }
    if (!apiKey) throw new WorkerError('USAGE', 'no API key was given');
    registerSecret(apiKey);

    const result = await login({
      paths,
      logger: silentLogger,
      request: { apiUrl, realtimeUrl: args.realtimeUrl ?? null, apiKey, confirmIdentityChange: args.yes },
      confirmIdentityChange: prompter
        ? (recorded, server) =>
            prompter.confirm(
              `This key belongs to ${describe(server)}, but this machine recorded ${describe(recorded)}.\n` +
                'Replace the recorded identity? [y/N] ',
            )
        : undefined,
    });
    if (!result.ok) {
      if (result.code === 'USER_IDENTITY_MISMATCH') {
        throw new WorkerError(
          'USER_IDENTITY_MISMATCH',
          `the key belongs to ${result.server.user_id}, but identity.yaml records ${result.recorded.user_id}; ` +
            'nothing was changed (re-run with --yes to replace the recorded identity)',
        );
      }
      throw new WorkerError(result.code, result.message);
    }
    const who = describe(result.identity);
    process.stdout.write(
      `${result.identityChanged ? 'Identity replaced. ' : ''}Logged in as ${who} at ${apiUrl.replace(/\/+$/, '')}.\n` +
        `Credentials: ${paths.credentials} (mode 0600)\nConfig: ${paths.config}\n`,
    );
    return 0;
  } finally {
    prompter?.close();
  }
}

function describe(u: { user_id: string; name: string | null; email: string | null }): string {
  const label = [u.name, u.email ? `<${u.email}>` : null].filter(Boolean).join(' ');
  return label ? `${label} (${u.user_id})` : u.user_id;
}
