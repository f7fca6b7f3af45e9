/**
 * Helpers for the CLI tests: an emulator on 127.0.0.1 with a worker user and a session, a temp state root,
 * and the real built CLI (`dist/cli.js`) as a child process. Everything is torn down by `t.after`.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulator, type Emulator, type SessionTuple } from '../../main/emulator/index';
import { runCli, tempDir, type CliResult } from '../support/process';

export interface CliWorld {
  emu: Emulator;
  home: string;
  user: { user_id: string; api_key: string };
  ref: SessionTuple;
}

export async function cliWorld(t: TestContext): Promise<CliWorld> {
  const emu = await startEmulator();
  t.after(() => emu.close());
  const dir = await tempDir('bhw-cli-');
  t.after(dir.cleanup);
  const user = emu.control.createUser({ name: 'Worker Bot', email: 'bot@example.test' });
  const ref = emu.control.createSession({ members: [user.user_id] });
  return { emu, home: join(dir.path, 'home'), user, ref };
}

/** Scripted login: key on stdin, never prompts. */
export function loginCli(w: Pick<CliWorld, 'emu' | 'home'>, key: string, extra: string[] = []): Promise<CliResult> {
  return runCli(['login', '--api-url', w.emu.apiUrl, '--api-key-stdin', '--no-input', ...extra], {
    home: w.home,
    input: `${key}\n`,
  });
}

/** Logs in (asserting success) and writes a config with one section for the world's session. */
export async function ready(w: CliWorld, config?: string): Promise<void> {
  const r = await loginCli(w, w.user.api_key);
  assert.equal(r.status, 0, r.stderr);
  await writeConfig(w.home, config ?? sectionConfig([{ name: 'main', ...w.ref }]));
  await chmod(join(w.home, 'credentials.yaml'), 0o600);
}

export function sectionConfig(sections: Array<Partial<SessionTuple> & { name?: string }>): string {
  const lines = ['sections:'];
  for (const s of sections) {
    lines.push(`  - name: ${s.name ?? 'sec'}`, '    job_type: session_agent_harness', '    session:');
    for (const k of ['org_id', 'blob_id', 'revision_id', 'session_id'] as const)
      if (s[k]) lines.push(`      ${k}: ${s[k]}`);
  }
  return lines.join('\n') + '\n';
}

export async function writeConfig(home: string, text: string): Promise<void> {
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'config.yaml'), text, { mode: 0o600 });
}

export interface ErrorLine {
  level: 'error';
  code: string;
  message: string;
  remediation: string;
}

/** The single `{"level":"error",...}` JSON line of protocol §2 (asserts there is exactly one). */
export function errorLine(stderr: string): ErrorLine {
  const errors = stderr
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((o) => o.level === 'error');
  assert.equal(errors.length, 1, `expected exactly one error line, stderr: ${stderr}`);
  const line = errors[0];
  assert.deepEqual(Object.keys(line).sort(), ['code', 'level', 'message', 'remediation']);
  assert.ok(!/\n\s+at /.test(stderr), 'no stack trace on stderr');
  return line as unknown as ErrorLine;
}

export function expectCode(r: CliResult, code: string, status: number): ErrorLine {
  const line = errorLine(r.stderr);
  assert.equal(line.code, code, r.stderr);
  assert.equal(r.status, status, `exit status for ${code}; stderr: ${r.stderr}`);
  return line;
}

export const readText = (path: string): Promise<string> => readFile(path, 'utf8');
