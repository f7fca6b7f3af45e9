/**
 * The demo agent's launcher: a tiny generated `#!/bin/sh` script in the sandbox's state root that runs the
 * agent simulator (./agent-sim/claude.mjs, copied to dist/agent-sim/ by the build) with the running
 * program's own executable. `ELECTRON_RUN_AS_NODE=1` makes the Electron binary behave as plain Node inside the
 * packaged app (plain Node ignores it). config.yaml names the launcher as `agents.claude_code.executable`,
 * so the worker spawns it exactly like a real `claude`.
 *
 * Windows: there is no `sh`, and Node refuses to spawn `.cmd`/`.bat` files without a shell, so the sandbox is
 * not available there (SANDBOX_NOT_AVAILABLE); see docs/sandbox.md.
 */
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { WorkerError } from '../core/errors';

export const AGENT_ENGINES = { claude_code: 'claude.mjs', codex: 'codex.mjs' } as const;

/** POSIX single-quoting: safe for any path (spaces, quotes, `$`). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Inside a packaged app the bundles live in `app.asar`; the simulator is unpacked next to it
 * (`asarUnpack` in electron-builder.yml) so a child process can read it without Electron's asar support.
 */
export function unpackedPath(path: string): string {
  const packed = `${sep}app.asar${sep}`;
  return path.includes(packed) ? path.replace(packed, `${sep}app.asar.unpacked${sep}`) : path;
}

export interface LauncherOptions {
  /** Where to write the script (inside the sandbox's state root). */
  path: string;
  /** Folder holding the agent simulator's .mjs files. */
  agentSimDir: string;
  /** The program that runs the engine: `process.execPath` (node, or Electron as node). */
  execPath: string;
  scenarioFile: string;
  /** Where the simulator keeps sessions, so a resume by id works across restarts. */
  stateDir: string;
}

export function launcherScript(o: LauncherOptions): string {
  const engine = unpackedPath(join(o.agentSimDir, AGENT_ENGINES.claude_code));
  return [
    '#!/bin/sh',
    '# BlobHub Worker sandbox: the scripted demo agent (generated; removed with the sandbox).',
    'unset FAKE_AGENT_RECORD NODE_OPTIONS',
    `ELECTRON_RUN_AS_NODE=1 FAKE_AGENT_SCENARIO=${shellQuote(o.scenarioFile)} FAKE_AGENT_STATE_DIR=${shellQuote(o.stateDir)}`,
    'export ELECTRON_RUN_AS_NODE FAKE_AGENT_SCENARIO FAKE_AGENT_STATE_DIR',
    `exec ${shellQuote(o.execPath)} ${shellQuote(engine)} "$@"`,
    '',
  ].join('\n');
}

/** The launcher is a POSIX shell script: SANDBOX_NOT_AVAILABLE on Windows (see the header). */
export function checkLauncherPlatform(platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') {
    throw new WorkerError(
      'SANDBOX_NOT_AVAILABLE',
      "The sandbox's demo agent needs a POSIX shell; it is not available on Windows yet.",
    );
  }
}

/** Writes the launcher (mode 0700) after checking the simulator is where it should be. */
export async function writeLauncher(o: LauncherOptions, platform: NodeJS.Platform = process.platform): Promise<string> {
  checkLauncherPlatform(platform);
  const engine = unpackedPath(join(o.agentSimDir, AGENT_ENGINES.claude_code));
  if (!existsSync(engine)) {
    throw new WorkerError('SANDBOX_START_FAILED', `The demo agent is missing from this build (${engine}).`);
  }
  await writeFile(o.path, launcherScript(o), { mode: 0o700 });
  await chmod(o.path, 0o700);
  return o.path;
}
