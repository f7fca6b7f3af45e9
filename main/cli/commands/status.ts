/**
 * `blobhub-worker status`: local state only, with or without a running worker. When the running worker
 * (live pid in instance.yaml) has written `snapshot.json` for the same instance, that live view is shown;
 * otherwise the view is assembled from instance.yaml, jobs/*\/section.yaml and jobs/*\/threads/*\/thread.yaml.
 * A broken file is reported in place, never fatal.
 */
import { existsSync, promises as fs } from 'node:fs';
import { toWorkerError, type WorkerError } from '../../core/errors';
import { join } from 'node:path';
import { readInstanceFile } from '../../core/state/lock';
import { SectionFile, ThreadFile, IdentityFile } from '../../core/state/schemas';
import { readYamlFile } from '../../core/state/yaml-file';
import { loadConfigFile } from '../../core/state/config';
import { jobIdFor, type StatePaths } from '../../core/state/paths';
import { Snapshot } from '../../core/snapshot';
// Where a running worker publishes its live Snapshot (written by the harness).
import { SNAPSHOT_FILE } from '../../core/worker';
import type { ParsedArgs } from '../args';
import { writeJson } from '../output';

export interface StatusThread {
  alias: string;
  state: string;
  agent_type: string | null;
  agent_session_id: string | null;
  last_error: { code: string | null; message: string | null; at: string | null } | null;
  /** Set when thread.yaml could not be read. */
  problem?: string;
}

export interface StatusSection {
  id: string;
  name: string | null;
  session_id: string | null;
  revision_id: string | null;
  /** attached | refused | detached | attaching | not_started | unknown */
  attachment: string;
  error: { code: string | null; message: string | null } | null;
  realtime?: string;
  /**
   * True when `attachment` (and the thread states) come from the files of a worker that is no longer running:
   * what was last recorded, not what is true now.
   */
  last_known: boolean;
  threads: StatusThread[];
  problem?: string;
}

export interface StatusView {
  state_root: string;
  source: 'live' | 'files';
  worker: {
    running: boolean;
    lock: 'absent' | 'held' | 'stale' | 'invalid';
    pid: number | null;
    instance_id: string | null;
    host: string | null;
    version: string | null;
    started_at: string | null;
  };
  user_id: string | null;
  sections: StatusSection[];
  /** What to do next when there is nothing to run yet (not logged in, no sections, a broken config), else null. */
  next_step: string | null;
  snapshot?: Snapshot;
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

async function readSnapshot(path: string): Promise<Snapshot | null> {
  try {
    const parsed = Snapshot.safeParse(JSON.parse(await fs.readFile(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

function fromSnapshot(s: Snapshot): StatusSection[] {
  return s.sections.map((sec) => ({
    id: sec.id,
    name: sec.name,
    session_id: sec.session.session_id,
    revision_id: sec.session.revision_id,
    attachment: sec.attachment,
    error: sec.error ? { code: sec.error.code, message: sec.error.message } : null,
    realtime: sec.realtime,
    last_known: false,
    threads: sec.threads.map((t) => ({
      alias: t.alias,
      state: t.state,
      agent_type: t.agent_type,
      agent_session_id: t.agent_session_id,
      last_error: t.last_error ? { code: t.last_error.code, message: t.last_error.message, at: t.last_error.at } : null,
    })),
  }));
}

async function fromFiles(
  paths: StatePaths,
  running: boolean,
): Promise<{ sections: StatusSection[]; configProblem: WorkerError | null }> {
  const sections: StatusSection[] = [];
  for (const id of await listDirs(paths.jobsDir)) {
    const dir = join(paths.jobsDir, id);
    const section: StatusSection = {
      id,
      name: null,
      session_id: null,
      revision_id: null,
      attachment: 'unknown',
      error: null,
      last_known: !running,
      threads: [],
    };
    try {
      const file = await readYamlFile(join(dir, 'section.yaml'), SectionFile);
      if (file) {
        section.name = file.name ?? null;
        section.session_id = file.session.session_id;
        section.revision_id = file.session.revision_id;
        section.attachment = file.attachment.status;
        section.error = file.attachment.error.code ? file.attachment.error : null;
      } else section.problem = 'no section.yaml';
    } catch (e) {
      section.problem = (e as Error).message;
    }
    for (const folder of await listDirs(join(dir, 'threads'))) {
      try {
        const t = await readYamlFile(join(dir, 'threads', folder, 'thread.yaml'), ThreadFile);
        if (!t) continue;
        section.threads.push({
          alias: t.alias,
          state: t.agent.state,
          agent_type: t.workspace.agent_type,
          agent_session_id: t.agent.agent_session_id,
          last_error: t.agent.error.code ? t.agent.error : null,
        });
      } catch (e) {
        section.threads.push({
          alias: decodeURIComponent(folder),
          state: 'unknown',
          agent_type: null,
          agent_session_id: null,
          last_error: null,
          problem: (e as Error).message,
        });
      }
    }
    sections.push(section);
  }
  // Sections configured but never started have no job folder yet: list them too.
  let configProblem: WorkerError | null = null;
  try {
    const { config } = await loadConfigFile(paths.config);
    for (const s of config.sections) {
      const id = jobIdFor(s.session.session_id);
      if (sections.some((x) => x.id === id || x.session_id === s.session.session_id)) continue;
      sections.push({
        id,
        name: s.name,
        session_id: s.session.session_id,
        revision_id: s.session.revision_id,
        attachment: 'not_started',
        error: null,
        last_known: false,
        threads: [],
      });
    }
  } catch (e) {
    // An invalid config is reported by `start`; status shows what is on disk, and the next step.
    configProblem = toWorkerError(e);
  }
  return { sections, configProblem };
}

/** The hint for a state root with nothing to run yet: log in first, then add a section. */
function nextStep(loggedIn: boolean, sections: StatusSection[], configProblem: WorkerError | null): string | null {
  if (!loggedIn) return 'Run `blobhub-worker login` (in a clone: `npm run cli -- login`) to store an API key.';
  if (!configProblem) return null;
  const config = 'config.yaml (every key: README.md, section "Configuration")';
  if (/is missing$|at least one section is required/.test(configProblem.message)) {
    return sections.length === 0
      ? `Add a section (the session to serve) under "sections:" in ${config}, then run \`blobhub-worker start\`.`
      : null;
  }
  return `Fix ${config}: ${configProblem.code}: ${configProblem.message}`;
}

export async function collectStatus(paths: StatePaths): Promise<StatusView> {
  const lock = await readInstanceFile(paths.instance).catch(() => ({ kind: 'invalid' as const, text: '' }));
  const held = lock.kind === 'held' ? lock : null;
  const running = held?.alive === true;
  const identity = await readYamlFile(paths.identity, IdentityFile).catch(() => undefined);
  const view: StatusView = {
    state_root: paths.root,
    source: 'files',
    worker: {
      running,
      lock: lock.kind === 'absent' ? 'absent' : lock.kind === 'invalid' ? 'invalid' : running ? 'held' : 'stale',
      pid: held?.info.pid ?? null,
      instance_id: held?.info.instance_id ?? null,
      host: held?.info.host ?? null,
      version: held?.info.version ?? null,
      started_at: held?.info.started_at ?? null,
    },
    user_id: identity?.user.user_id ?? null,
    sections: [],
    next_step: null,
  };
  const loggedIn = existsSync(paths.credentials);
  if (running) {
    const snap = await readSnapshot(join(paths.root, SNAPSHOT_FILE));
    // A snapshot left by an earlier instance is not live.
    if (snap && (snap.instance_id === null || snap.instance_id === held.info.instance_id)) {
      view.source = 'live';
      view.sections = fromSnapshot(snap);
      view.snapshot = snap;
      return view;
    }
  }
  const files = await fromFiles(paths, running);
  view.sections = files.sections;
  view.next_step = nextStep(loggedIn, files.sections, files.configProblem);
  return view;
}

export async function statusCommand(paths: StatePaths, args: ParsedArgs): Promise<number> {
  const view = await collectStatus(paths);
  if (args.json) {
    writeJson(view);
    return 0;
  }
  const w = view.worker;
  const lines: string[] = [];
  if (w.running) lines.push(`Worker: running (pid ${w.pid}, instance ${w.instance_id}, since ${w.started_at})`);
  else if (w.lock === 'stale')
    lines.push(`Worker: not running (stale lock from pid ${w.pid}; replaced on the next start)`);
  else if (w.lock === 'invalid')
    lines.push('Worker: not running (unreadable instance.yaml; replaced on the next start)');
  else lines.push('Worker: not running');
  lines.push(`State root: ${view.state_root}${view.source === 'live' ? ' (live view)' : ''}`);
  if (view.sections.length === 0) lines.push('No sections.');
  if (view.sections.some((s) => s.last_known))
    lines.push('Sections and threads below: last known state (worker not running).');
  for (const s of view.sections) {
    const err = s.error?.code ? ` — ${s.error.code}${s.error.message ? `: ${s.error.message}` : ''}` : '';
    const attachment = s.last_known ? `${s.attachment} — last known (worker not running)` : s.attachment;
    lines.push(
      `Section ${s.name ?? s.id} (${s.session_id ?? '?'}): ${attachment}${err}${s.problem ? ` [${s.problem}]` : ''}`,
    );
    if (s.threads.length === 0) lines.push('  (no threads)');
    for (const t of s.threads) {
      const e = t.last_error?.code ? `  ${t.last_error.code}: ${t.last_error.message ?? ''}` : '';
      lines.push(
        `  ${t.alias.padEnd(24)} ${t.state.padEnd(11)} ${(t.agent_type ?? '-').padEnd(12)} ${t.agent_session_id ?? '-'}${e}${t.problem ? ` [${t.problem}]` : ''}`,
      );
    }
  }
  if (view.next_step) lines.push('', `Next: ${view.next_step}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
