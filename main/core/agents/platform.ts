/**
 * The platform seam of agent supervision (docs/agents.md, "Supervision" and "Windows"): how an executable name
 * is found, whether the agent gets its own process group, and how its whole tree is signalled and checked.
 * The POSIX side runs here; the Windows side follows what execa / cross-spawn do (PATHEXT lookup, `.cmd` shims
 * spawned through execa, `taskkill /T` for the tree) and is unit-tested through injected file and command
 * functions, because no Windows machine runs these tests.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { WorkerError } from '../errors';
import { PosixTree, linuxProcTable, type ProcTable } from './process-tree';

/** One agent's process tree, as the platform can reach it. */
export interface AgentTree {
  readonly pid: number;
  /** Remembers the descendants that exist now (called periodically while the agent runs). */
  refresh(): void;
  /** The descendants remembered so far that still run (POSIX; Windows keeps none). */
  members(): number[];
  alive(): boolean;
  /** `force` false: the polite request (SIGTERM); true: the kill (SIGKILL, `taskkill /F`). Synchronous. */
  signal(force: boolean): void;
}

export interface ProcessPlatform {
  readonly name: 'posix' | 'win32';
  /** Spawn the agent detached (own process group on POSIX; on Windows it would open a new console). */
  readonly detached: boolean;
  resolveExecutable(nameOrPath: string, env: NodeJS.ProcessEnv): string;
  tree(pid: number): AgentTree;
}

function notFound(nameOrPath: string, why: string): WorkerError {
  return new WorkerError('AGENT_EXECUTABLE_NOT_FOUND', `Agent executable ${JSON.stringify(nameOrPath)} ${why}.`, {
    executable: nameOrPath,
  });
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface PosixDeps {
  isExecutable?: (file: string) => boolean;
  table?: ProcTable;
}

export function posixPlatform(deps: PosixDeps = {}): ProcessPlatform {
  const isExecutable = deps.isExecutable ?? isExecutableFile;
  const table = deps.table ?? linuxProcTable;
  return {
    name: 'posix',
    detached: true,
    /**
     * An absolute path must exist and be executable; a bare name is searched on `env.PATH`. A relative path with
     * a slash is refused: the worker's cwd is not meaningful to a user.
     */
    resolveExecutable(nameOrPath, env) {
      if (!nameOrPath) throw notFound(nameOrPath, 'is empty');
      if (path.posix.isAbsolute(nameOrPath)) {
        if (isExecutable(nameOrPath)) return nameOrPath;
        throw notFound(nameOrPath, 'does not exist or is not executable');
      }
      if (nameOrPath.includes('/')) throw notFound(nameOrPath, 'must be an absolute path or a bare command name');
      for (const dir of (env.PATH ?? '').split(':')) {
        if (!dir || !path.posix.isAbsolute(dir)) continue;
        const candidate = path.posix.join(dir, nameOrPath);
        if (isExecutable(candidate)) return candidate;
      }
      throw notFound(nameOrPath, 'was not found on PATH');
    },
    tree(pid) {
      const tree = new PosixTree(pid, table);
      return {
        pid,
        refresh: () => tree.refresh(),
        members: () => tree.members(),
        alive: () => tree.alive(),
        signal: (force) => tree.signal(force ? 'SIGKILL' : 'SIGTERM'),
      };
    },
  };
}

export interface Win32Deps {
  /** True when the path names an existing file (Windows has no execute bit). */
  isFile?: (file: string) => boolean;
  /** Runs a command synchronously without a shell (taskkill); returns its exit status. */
  run?: (command: string, args: string[]) => number | null;
  /** Whether the pid still exists. */
  exists?: (pid: number) => boolean;
}

const DEFAULT_PATHEXT = '.COM;.EXE;.BAT;.CMD';

/** Windows keeps environment names case-insensitively: `Path` and `PATH` are the same variable. */
function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const key = Object.keys(env).find((k) => k.toUpperCase() === name);
  return key === undefined ? undefined : env[key];
}

export function win32Platform(deps: Win32Deps = {}): ProcessPlatform {
  const isFile =
    deps.isFile ??
    ((file: string): boolean => {
      try {
        return statSync(file).isFile();
      } catch {
        return false;
      }
    });
  const run =
    deps.run ??
    ((command: string, args: string[]): number | null =>
      spawnSync(command, args, { stdio: 'ignore', windowsHide: true, timeout: 10_000 }).status);
  const exists =
    deps.exists ??
    ((pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    });
  const w = path.win32;
  /** `claude` → `claude.cmd` etc. in PATHEXT order; a name that already ends in one of them is tried as it is. */
  const withExtensions = (base: string, exts: string[]): string[] => {
    const lower = base.toLowerCase();
    // Windows file names are case-insensitive; the lower-case extension is how the files are usually named.
    return exts.some((e) => lower.endsWith(e.toLowerCase())) ? [base] : exts.map((e) => base + e.toLowerCase());
  };
  return {
    name: 'win32',
    detached: false,
    resolveExecutable(nameOrPath, env) {
      if (!nameOrPath) throw notFound(nameOrPath, 'is empty');
      const exts = (envValue(env, 'PATHEXT') ?? DEFAULT_PATHEXT)
        .split(';')
        .map((e) => e.trim())
        .filter((e) => e.startsWith('.'));
      if (w.isAbsolute(nameOrPath)) {
        const hit = withExtensions(nameOrPath, exts).find(isFile) ?? (isFile(nameOrPath) ? nameOrPath : undefined);
        if (hit) return hit;
        throw notFound(nameOrPath, 'does not exist');
      }
      if (/[\\/]/.test(nameOrPath)) throw notFound(nameOrPath, 'must be an absolute path or a bare command name');
      for (const dir of (envValue(env, 'PATH') ?? '').split(';')) {
        const d = dir.trim().replace(/^"(.*)"$/, '$1');
        if (!d || !w.isAbsolute(d)) continue;
        const hit = withExtensions(w.join(d, nameOrPath), exts).find(isFile);
        if (hit) return hit;
      }
      throw notFound(nameOrPath, 'was not found on PATH');
    },
    tree(pid) {
      // taskkill /T walks parent links from the root: it reaches the whole tree while the agent lives; a
      // descendant orphaned by the agent's own death is out of its reach (docs/agents.md, "Windows").
      return {
        pid,
        refresh: () => undefined,
        members: () => [],
        alive: () => exists(pid),
        signal: (force) => {
          run('taskkill', force ? ['/T', '/F', '/PID', String(pid)] : ['/T', '/PID', String(pid)]);
        },
      };
    },
  };
}

/** The platform this process runs on. */
export function currentPlatform(): ProcessPlatform {
  return process.platform === 'win32' ? win32Platform() : posixPlatform();
}
