/**
 * Which processes belong to an agent (docs/agents.md, "Supervision"): on POSIX the agent runs in its own process
 * group, and on Linux every descendant is also found through /proc parent links, so a tool that left the group
 * (setsid, a daemonizing dev server) is still part of the agent's tree. The descendants are remembered with their
 * start time while the agent runs: once the agent has died its orphans are re-parented and no parent link leads
 * to them any more, and the start time keeps a recycled pid from being mistaken for one of them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
  /** Start time in clock ticks after boot (field 22 of /proc/<pid>/stat): with the pid, a process identity. */
  start: string;
}

/** The /proc reader, injectable so tests can describe a process table. */
export interface ProcTable {
  readonly available: boolean;
  stat(pid: number): ProcInfo | null;
  all(): ProcInfo[];
  /** Direct children from /proc/<pid>/task/<tid>/children; null when the kernel does not offer that file. */
  children(pid: number): number[] | null;
}

function parseStat(pid: number, stat: string): ProcInfo | null {
  // "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so parse after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields.length < 20) return null;
  return { pid, state: fields[0], ppid: Number(fields[1]), pgrp: Number(fields[2]), start: fields[19] };
}

export const linuxProcTable: ProcTable = {
  available: existsSync('/proc/self/stat'),
  stat(pid) {
    try {
      return parseStat(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return null;
    }
  },
  all() {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return [];
    }
    const out: ProcInfo[] = [];
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const info = this.stat(Number(name));
      if (info) out.push(info);
    }
    return out;
  },
  children(pid) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      return [];
    }
    const out: number[] = [];
    for (const tid of tasks) {
      let text: string;
      try {
        text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' && tid === String(pid)) return null;
        continue;
      }
      for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
    }
    return out;
  },
};

const dead = (p: ProcInfo): boolean => p.state === 'Z' || p.state === 'X';

/** `kill(pid, 0)`: true while the pid exists (EPERM: it exists, owned by someone else). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True while any non-zombie process of the group exists. kill(-pgid, 0) alone also counts zombies, and an
 * orphaned grandchild stays a zombie for as long as a non-reaping PID 1 (containers) leaves it there.
 */
export function groupAlive(pgid: number, table: ProcTable = linuxProcTable): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (!table.available) return true;
  return table.all().some((p) => p.pgrp === pgid && !dead(p));
}

/** True while the pid exists and is not a zombie. */
export function processLive(pid: number, table: ProcTable = linuxProcTable): boolean {
  if (!pidExists(pid)) return false;
  if (!table.available) return true;
  const st = table.stat(pid);
  return st !== null && !dead(st);
}

/**
 * The tree of one agent on POSIX: its process group plus every descendant seen so far (remembered by pid and
 * start time). `refresh()` is cheap enough to run every second while the agent lives.
 */
export class PosixTree {
  private readonly known = new Map<number, string>();

  constructor(
    readonly pid: number,
    private readonly table: ProcTable = linuxProcTable,
  ) {}

  /**
   * Adds every living descendant of the agent (and of the descendants remembered earlier). Cheap through the
   * children files (a few reads per process of the tree), so it runs on every stdout line as well.
   */
  refresh(): void {
    if (!this.table.available) return;
    const roots = [this.pid, ...this.members()];
    const direct = this.table.children(this.pid);
    const childrenOf = direct === null ? this.scanChildren() : (pid: number) => this.table.children(pid) ?? [];
    const seen = new Set<number>(roots);
    const stack = [...roots];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      for (const child of childrenOf(pid)) {
        if (seen.has(child)) continue;
        seen.add(child);
        const st = this.table.stat(child);
        if (!st || dead(st)) continue;
        this.known.set(child, st.start);
        stack.push(child);
      }
    }
  }

  /** Parent links from one scan of /proc, for kernels without the children files. */
  private scanChildren(): (pid: number) => number[] {
    const children = new Map<number, number[]>();
    for (const p of this.table.all()) {
      const list = children.get(p.ppid);
      if (list) list.push(p.pid);
      else children.set(p.ppid, [p.pid]);
    }
    return (pid) => children.get(pid) ?? [];
  }

  /** Remembered descendants that still run (same pid, same start time), outside or inside the group. */
  members(): number[] {
    const out: number[] = [];
    for (const [pid, start] of this.known) {
      const st = this.table.available ? this.table.stat(pid) : null;
      if (st && st.start === start && !dead(st)) out.push(pid);
      else this.known.delete(pid);
    }
    return out;
  }

  alive(): boolean {
    return groupAlive(this.pid, this.table) || this.members().length > 0;
  }

  /** Signals the group and every remembered descendant; refreshes first while parent links still lead there. */
  signal(signal: NodeJS.Signals): void {
    this.refresh();
    const members = this.members();
    try {
      process.kill(-this.pid, signal);
    } catch {
      // the group is gone
    }
    for (const pid of members) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone meanwhile
      }
    }
  }
}
