// Shared plumbing of the agent simulator (plain JavaScript: it runs as a child process with plain `node`, or
// Electron with ELECTRON_RUN_AS_NODE=1, from any cwd). Product code: the sandbox's scripted demo agent runs it
// (main/sandbox/launcher.ts), and the tests' fake `claude` / `codex` (test/fakes/) are thin shims over it.
// Scenario, recording and session-state files are named by environment variables:
//   FAKE_AGENT_SCENARIO   JSON scenario (see docs/agents.md "Fake agents")
//   FAKE_AGENT_RECORD     JSON-lines file: every argv and stdin line the fake received, plus notable events
//   FAKE_AGENT_STATE_DIR  folder where sessions/threads persist, so resume by id works across processes
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';

export function record(entry) {
  const file = process.env.FAKE_AGENT_RECORD;
  if (!file) return;
  try {
    appendFileSync(file, JSON.stringify({ pid: process.pid, ...entry }) + '\n');
  } catch {
    // recording must never change the fake's behaviour
  }
}

export function loadScenario() {
  const file = process.env.FAKE_AGENT_SCENARIO;
  if (!file) return {};
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** The turn script: a marker contained in the user text wins, then the turn index, then `default`. */
export function turnFor(scenario, index, text, fallbackSteps) {
  for (const [marker, turn] of Object.entries(scenario.markers ?? {})) {
    if (text.includes(marker)) return turn;
  }
  return scenario.turns?.[index] ?? scenario.default ?? { steps: fallbackSteps };
}

/** `--flag value` and `--flag=value`; flags listed in `valueFlags` take a value, others are booleans. */
export function parseArgs(argv, valueFlags) {
  const flags = {};
  const positionals = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (eq !== -1) flags[name] = arg.slice(eq + 1);
    else if (valueFlags.includes(name) && i + 1 < argv.length) flags[name] = argv[++i];
    else flags[name] = true;
  }
  return { flags, positionals };
}

export function stateFile(prefix, id) {
  const dir = process.env.FAKE_AGENT_STATE_DIR;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  return join(dir, `${prefix}-${id.replace(/[^A-Za-z0-9-]/g, '_')}.json`);
}

export function loadSession(prefix, id) {
  const file = stateFile(prefix, id);
  if (!file || !existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8'));
}

export function saveSession(prefix, id, data) {
  const file = stateFile(prefix, id);
  if (file) writeFileSync(file, JSON.stringify(data));
}

/** Writes one JSON line (or a raw string) to stdout. Pipes are synchronous on Linux, so exit() loses nothing. */
export function out(value) {
  process.stdout.write((typeof value === 'string' ? value : JSON.stringify(value)) + '\n');
}

export function err(text) {
  process.stderr.write(text.endsWith('\n') ? text : text + '\n');
}

/** Reads stdin as lines; `onEnd` at EOF. Handles lines of any size. */
export function readLines(onLine, onEnd) {
  let buffered = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim()) {
        record({ kind: 'stdin', line });
        onLine(line);
      }
    }
  });
  process.stdin.on('end', () => {
    if (buffered.trim()) {
      record({ kind: 'stdin', line: buffered });
      onLine(buffered);
    }
    onEnd();
  });
}

/** A sleep that an abort (interrupt) ends early. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Process-level scenario options shared by both fakes. */
export function applyProcessOptions(scenario) {
  if (scenario.ignoreSigterm) {
    process.on('SIGTERM', () => record({ kind: 'signal', signal: 'SIGTERM' }));
  }
  if (scenario.grandchild) {
    spawnGrandchild(Boolean(scenario.ignoreSigterm), Boolean(scenario.grandchild.newSession));
  }
}

/**
 * A long-running grandchild (like a tool the agent started): in our process group, or with `newSession` in a
 * session and process group of its own (setsid, like a daemonizing dev server), out of reach of a group kill.
 */
export function spawnGrandchild(ignoreSigterm = false, newSession = false) {
  // It reports itself ready once its signal handling is in place, so tests never race its startup.
  const ready =
    'process.env.FAKE_AGENT_RECORD && require("fs").appendFileSync(process.env.FAKE_AGENT_RECORD, JSON.stringify({ pid: process.pid, kind: "grandchild_ready" }) + "\\n");';
  const code = `${ignoreSigterm ? 'process.on("SIGTERM",()=>{});' : ''} ${ready} setInterval(()=>{}, 1000)`;
  const child = spawn(process.execPath, ['-e', code], {
    stdio: 'ignore',
    detached: newSession,
  });
  record({ kind: 'grandchild', grandchildPid: child.pid });
  return child.pid;
}

/** One stdout line of `bytes` bytes (not JSON), written in 1 MiB pieces. */
export function longLine(bytes) {
  const piece = 'x'.repeat(1024 * 1024);
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, piece.length);
    process.stdout.write(n === piece.length ? piece : piece.slice(0, n));
    left -= n;
  }
  process.stdout.write('\n');
}

export function bigOutput(bytes) {
  const line = 'x'.repeat(99) + '\n';
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

export const uuid = () => randomUUID();

/** A UUIDv7-like id (time-ordered), like Codex thread and turn ids. */
export function uuidv7() {
  const hex = Date.now().toString(16).padStart(12, '0');
  const rand = randomUUID().replace(/-/g, '');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${rand.slice(0, 3)}-${rand.slice(3, 7)}-${rand.slice(7, 19)}`;
}

export function crash(step) {
  if (step.stderr) err(step.stderr);
  record({ kind: 'crash', code: step.code ?? 1 });
  process.exit(step.code ?? 1);
}
