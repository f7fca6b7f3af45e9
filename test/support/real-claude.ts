/**
 * The REAL Claude Code CLI (`node_modules/.bin/claude`, 2.1.329) against the scripted Anthropic mock on
 * 127.0.0.1 (anthropic-mock.ts), in a private HOME / CLAUDE_CONFIG_DIR. Used by the tests that check our
 * adapter and our fakes against the real protocol, and by capture-claude.ts to record fixtures. The
 * environment is built from scratch: nothing of the developer's own Claude login or settings is seen, and
 * nonessential traffic and telemetry are off, so the only connection the CLI makes is to the mock.
 */
import { existsSync, realpathSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './process';

export const REAL_CLAUDE = join(ROOT, 'node_modules', '.bin', 'claude');

/** Why the real-CLI tests cannot run here, or null when they can. */
export function realClaudeMissing(): string | null {
  if (!existsSync(REAL_CLAUDE)) {
    return `the real Claude Code CLI is not installed at ${REAL_CLAUDE} (npm install @anthropic-ai/claude-code@2.1.329)`;
  }
  try {
    realpathSync(REAL_CLAUDE);
  } catch {
    return `${REAL_CLAUDE} is a dangling link (reinstall @anthropic-ai/claude-code@2.1.329)`;
  }
  return null;
}

/** A private home for one real CLI run; returns the environment to spawn it with. */
export async function realClaudeEnv(root: string, mockUrl: string): Promise<NodeJS.ProcessEnv> {
  const home = join(root, 'home');
  await mkdir(join(home, '.claude'), { recursive: true });
  return {
    PATH: process.env.PATH,
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    ANTHROPIC_BASE_URL: mockUrl,
    ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    // Keep any proxy of the developer's shell out of the loop: the mock is on loopback.
    NO_PROXY: '127.0.0.1,localhost',
    TMPDIR: process.env.TMPDIR ?? '/tmp',
  };
}
