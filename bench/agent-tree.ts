/**
 * Agent supervision costs (docs/agents.md, "Supervision"): what one `PosixTree.refresh()` costs (it runs on every
 * agent stdout line) for trees of 0 / 5 / 20 descendants, through the /proc children files and through the full
 * /proc scan fallback; and what a 20 MiB stdout line costs the line splitter with the 16 MiB cap and without a
 * cap. Run: `node --expose-gc --import tsx bench/agent-tree.ts` (Linux; prints two tables, stops its processes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LineSplitter } from '../main/core/agents/line-splitter';
import { PosixTree, linuxProcTable, type ProcTable } from '../main/core/agents/process-tree';

const ITER = 300;

/** A node process that starts `n` long-lived children (half of them in a session of their own). */
async function agentWith(n: number): Promise<ChildProcess> {
  const code = `
    const { spawn } = require('node:child_process');
    for (let i = 0; i < ${n}; i++) spawn(process.execPath, ['-e', 'setInterval(()=>{},1000)'], { stdio: 'ignore', detached: i % 2 === 1 });
    setTimeout(() => process.stdout.write('ready\\n'), 300);
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('agent did not start')), 10_000);
    child.stdout.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return child;
}

function timeRefresh(pid: number, table: ProcTable): { meanUs: number; p95Us: number; members: number } {
  const tree = new PosixTree(pid, table);
  const times: number[] = [];
  for (let i = 0; i < ITER; i++) {
    const t0 = process.hrtime.bigint();
    tree.refresh();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return {
    meanUs: times.reduce((a, b) => a + b, 0) / times.length,
    p95Us: times[Math.floor(times.length * 0.95)],
    members: tree.members().length,
  };
}

const scanOnly: ProcTable = { ...linuxProcTable, children: () => null };

/** Feeds a 20 MiB line; `heldMiB` is what stays reachable (after a GC) just before its newline arrives. */
function splitLong(maxLineBytes: number): { ms: number; heldMiB: number; lines: number; cut: number } {
  let lines = 0;
  let cut = 0;
  const s = new LineSplitter(() => lines++, { maxLineBytes, onOverlong: () => cut++ });
  global.gc?.();
  const base = process.memoryUsage().arrayBuffers;
  const t0 = process.hrtime.bigint();
  for (let sent = 0; sent < 20 * 1024 * 1024; sent += 64 * 1024) {
    // A fresh buffer per chunk, like a pipe's reads.
    s.push(Buffer.alloc(64 * 1024, 0x78));
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  global.gc?.();
  global.gc?.();
  const held = process.memoryUsage().arrayBuffers - base;
  s.push(Buffer.from('\n{"type":"next"}\n'));
  return { ms, heldMiB: held / 1024 / 1024, lines, cut };
}

async function main(): Promise<void> {
  if (!linuxProcTable.available) throw new Error('needs /proc (Linux)');
  const rows: string[][] = [['case', 'descendants found', 'mean µs', 'p95 µs']];
  for (const n of [0, 5, 20]) {
    const agent = await agentWith(n);
    try {
      const viaChildren = timeRefresh(agent.pid!, linuxProcTable);
      const viaScan = timeRefresh(agent.pid!, scanOnly);
      rows.push([
        `refresh, ${n} children, children files`,
        String(viaChildren.members),
        viaChildren.meanUs.toFixed(0),
        viaChildren.p95Us.toFixed(0),
      ]);
      rows.push([
        `refresh, ${n} children, /proc scan`,
        String(viaScan.members),
        viaScan.meanUs.toFixed(0),
        viaScan.p95Us.toFixed(0),
      ]);
    } finally {
      new PosixTree(agent.pid!).signal('SIGKILL');
    }
  }
  const table2: string[][] = [
    ['20 MiB line, 64 KiB chunks', 'ms', 'MiB held before its newline', 'lines passed on', 'cut'],
  ];
  for (const [label, cap] of [
    ['16 MiB cap', 16 * 1024 * 1024],
    ['no cap', Number.POSITIVE_INFINITY],
  ] as const) {
    const r = splitLong(cap);
    table2.push([label, r.ms.toFixed(0), r.heldMiB.toFixed(1), String(r.lines), String(r.cut)]);
  }
  for (const t of [rows, table2]) {
    const widths = t[0].map((_, i) => Math.max(...t.map((r) => r[i].length)));
    for (const r of t) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
    console.log();
  }
}

await main();
