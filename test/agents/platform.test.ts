/**
 * The platform seam of agent supervision (main/core/agents/platform.ts) on Linux: the Windows side through
 * injected file and command functions (PATHEXT lookup, `.cmd` shims, `taskkill /T /F`), and the POSIX tree
 * bookkeeping on a described process table (descendants outside the group, orphans after the agent died, a
 * recycled pid).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posixPlatform, win32Platform } from '../../main/core/agents/platform';
import { PosixTree, type ProcInfo, type ProcTable } from '../../main/core/agents/process-tree';
import { isWorkerError } from '../../main/core/errors';

const notFound = (fn: () => unknown, re: RegExp): void =>
  assert.throws(fn, (e) => isWorkerError(e, 'AGENT_EXECUTABLE_NOT_FOUND') && re.test(e.message));

test('win32: a bare name is found through Path (any case) and PATHEXT, the npm .cmd shim included', () => {
  const files = new Set(['C:\\Users\\me\\AppData\\Roaming\\npm\\claude.cmd', 'C:\\tools\\codex.exe']);
  const p = win32Platform({ isFile: caseless(files) });
  const env = { Path: 'C:\\Windows\\system32;"C:\\Users\\me\\AppData\\Roaming\\npm";relative\\bin;C:\\tools' };
  assert.equal(p.resolveExecutable('claude', env), 'C:\\Users\\me\\AppData\\Roaming\\npm\\claude.cmd');
  assert.equal(p.resolveExecutable('codex', env), 'C:\\tools\\codex.exe');
  assert.equal(p.resolveExecutable('codex.exe', env), 'C:\\tools\\codex.exe', 'a name with its extension as it is');
  // PATHEXT order decides: .EXE before .CMD when both exist.
  files.add('C:\\tools\\claude.exe');
  assert.equal(
    p.resolveExecutable('claude', { PATH: 'C:\\tools;C:\\Users\\me\\AppData\\Roaming\\npm' }),
    'C:\\tools\\claude.exe',
  );
  // A PATHEXT without .CMD does not find the shim.
  notFound(
    () => p.resolveExecutable('claude', { Path: 'C:\\Users\\me\\AppData\\Roaming\\npm', PATHEXT: '.EXE' }),
    /not found on PATH/,
  );
  notFound(() => p.resolveExecutable('nope', env), /not found on PATH/);
  notFound(() => p.resolveExecutable('npm\\claude', env), /absolute path or a bare command name/);
  notFound(() => p.resolveExecutable('npm/claude', env), /absolute path or a bare command name/);
  notFound(() => p.resolveExecutable('', env), /empty/);
});

test('win32: an absolute path with or without its extension; a missing one is AGENT_EXECUTABLE_NOT_FOUND', () => {
  const files = new Set(['D:\\agents\\claude.CMD', 'D:\\agents\\tool']);
  const p = win32Platform({ isFile: caseless(files) });
  assert.equal(p.resolveExecutable('D:\\agents\\claude', {}), 'D:\\agents\\claude.cmd');
  assert.equal(p.resolveExecutable('D:\\agents\\claude.cmd', {}), 'D:\\agents\\claude.cmd');
  assert.equal(p.resolveExecutable('D:\\agents\\tool', {}), 'D:\\agents\\tool');
  notFound(() => p.resolveExecutable('D:\\agents\\codex', {}), /does not exist/);
  assert.equal(p.detached, false, 'no detached console window on Windows');
});

test('win32: the tree is signalled with taskkill /T (polite) and taskkill /T /F (kill), never a shell', () => {
  const runs: Array<[string, string[]]> = [];
  let alive = true;
  const p = win32Platform({
    run: (command, args) => {
      runs.push([command, args]);
      if (args.includes('/F')) alive = false;
      return 0;
    },
    exists: () => alive,
  });
  const tree = p.tree(4242);
  assert.equal(tree.alive(), true);
  tree.signal(false);
  tree.signal(true);
  assert.deepEqual(runs, [
    ['taskkill', ['/T', '/PID', '4242']],
    ['taskkill', ['/T', '/F', '/PID', '4242']],
  ]);
  assert.equal(tree.alive(), false);
});

test('posix: resolveExecutable keeps its rules (absolute + executable, PATH lookup, no relative paths)', () => {
  const p = posixPlatform({ isExecutable: (f) => f === '/opt/bin/claude' });
  assert.equal(p.resolveExecutable('claude', { PATH: 'relative:/usr/bin:/opt/bin' }), '/opt/bin/claude');
  assert.equal(p.resolveExecutable('/opt/bin/claude', {}), '/opt/bin/claude');
  notFound(() => p.resolveExecutable('bin/claude', { PATH: '/opt' }), /absolute path or a bare command name/);
  notFound(() => p.resolveExecutable('/opt/bin/codex', {}), /does not exist or is not executable/);
  assert.equal(p.detached, true);
});

/** Windows compares file names without case. */
const caseless = (files: Set<string>) => (f: string) => [...files].some((x) => x.toLowerCase() === f.toLowerCase());

/** A described process table; `childrenFiles: false` models a kernel without /proc/<pid>/task/<tid>/children. */
function table(procs: ProcInfo[], childrenFiles = true): ProcTable & { procs: ProcInfo[] } {
  const t = {
    procs,
    available: true,
    stat: (pid: number) => t.procs.find((p) => p.pid === pid) ?? null,
    all: () => t.procs,
    children: (pid: number) => (childrenFiles ? t.procs.filter((p) => p.ppid === pid).map((p) => p.pid) : null),
  };
  return t;
}

const proc = (pid: number, ppid: number, pgrp: number, start = `${pid}00`, state = 'S'): ProcInfo => ({
  pid,
  ppid,
  pgrp,
  state,
  start,
});

for (const childrenFiles of [true, false]) {
  test(`posix tree (${childrenFiles ? 'children files' : '/proc scan'}): escaped descendants are remembered; a recycled pid is not`, () => {
    // agent 100 (group 100) → tool 101 (group 100); 100 → dev server 102 (setsid: group 102) → worker 103.
    const t = table(
      [
        proc(1, 0, 1),
        proc(100, 1, 100),
        proc(101, 100, 100),
        proc(102, 100, 102),
        proc(103, 102, 102),
        proc(200, 1, 200),
      ],
      childrenFiles,
    );
    const tree = new PosixTree(100, t);
    tree.refresh();
    assert.deepEqual(tree.members().sort(), [101, 102, 103]);
    // The agent dies: its children are re-parented to 1 and no parent link leads from 100 any more.
    t.procs = [
      proc(1, 0, 1),
      proc(101, 1, 100),
      proc(102, 1, 102),
      proc(103, 102, 102),
      proc(104, 102, 102),
      proc(200, 1, 200),
    ];
    tree.refresh();
    assert.deepEqual(tree.members().sort(), [101, 102, 103, 104], 'a child of a remembered orphan joins too');
    // 103 exits and its pid is reused by an unrelated process; 104 is a zombie.
    t.procs = [
      proc(1, 0, 1),
      proc(101, 1, 100),
      proc(102, 1, 102),
      proc(103, 1, 300, 'later'),
      proc(104, 102, 102, '10400', 'Z'),
    ];
    assert.deepEqual(tree.members().sort(), [101, 102]);
  });
}
