/**
 * The handoff contract read from a thread envelope (protocol §6.1–§6.2):
 * which session objects are jobs, and the activation checklist steps 1–4 (work folder, agent type, settings,
 * permissions, executable), in the binding order, each failure a named thread-level `WorkerError`.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { WorkerError } from '../errors';
import { HandoffMetadata, type Envelope } from '../api/types';
import { DEFAULT_POLICY, type PolicyConfig, type WorkerConfig } from '../state/config';
import { AGENT_TYPES, PERMISSION_MODES, type AgentType, type PermissionMode } from '../state/schemas';
import { isRecord } from '../json';

export const WORKER_ALIAS = 'worker';

/** A thread envelope that is a job: `value.type == thread`, alias ≠ worker, a `metadata.instance.state`. */
export interface Job {
  alias: string;
  /** The raw state string; anything but the four known states is ignored by the state machine. */
  state: string;
  metadata: HandoffMetadata;
}

/** Tolerant: a malformed envelope is simply not a job (the caller logs it), never a crash. */
export function parseJob(envelope: Envelope | null | undefined): Job | null {
  if (!envelope || envelope.alias === WORKER_ALIAS || envelope.value.type !== 'thread') return null;
  const thread = (envelope.value as Record<string, unknown>).thread;
  if (!thread || typeof thread !== 'object') return null;
  const parsed = HandoffMetadata.safeParse((thread as Record<string, unknown>).metadata ?? {});
  if (!parsed.success) return null;
  const state = parsed.data.instance?.state;
  if (typeof state !== 'string' || state === '') return null;
  return { alias: envelope.alias, state, metadata: parsed.data };
}

/** Why a thread envelope that looks like an attempted handoff is not a job (see `diagnoseNonJob`). */
export interface IgnoredEnvelope {
  /** A stable key of the shape, so the caller can warn once per alias + shape. */
  shape: string;
  /** The path that a job needs and this envelope lacks. */
  missing: string;
  /** One sentence: what was found where, and what the worker expects. */
  message: string;
}

const HANDOFF_KEYS = ['instance', 'workspace', 'agent'] as const;
const REQUIRED_PATH = 'value.thread.metadata.instance.state';
const EXPECTED_SHAPE =
  '{type: "thread", thread: {attributes, metadata: {workspace, agent, instance: {state: "pending"}}}}';

/** The handoff keys (`instance`, `workspace`, `agent`) present on `obj`, in that order. */
function handoffKeysOf(obj: unknown): string[] {
  return isRecord(obj) ? HANDOFF_KEYS.filter((k) => obj[k] !== undefined) : [];
}

/**
 * For an envelope that `parseJob` rejects: is it a thread that *looks like* a handoff (handoff fields in the
 * wrong place, or a handoff without a usable `instance.state`)? Returns why it is ignored, else `null` — plain
 * chat threads (no handoff fields at all), the `worker` object and non-thread objects are quietly not jobs.
 * Diagnostic only: which objects are jobs is decided by `parseJob` alone (protocol §6.1).
 */
export function diagnoseNonJob(envelope: Envelope | null | undefined): IgnoredEnvelope | null {
  if (!envelope || envelope.alias === WORKER_ALIAS || !isRecord(envelope.value) || envelope.value.type !== 'thread')
    return null;
  if (parseJob(envelope)) return null;
  const value = envelope.value as Record<string, unknown>;
  const thread = isRecord(value.thread) ? value.thread : null;
  const metadata = thread && isRecord(thread.metadata) ? thread.metadata : null;
  const inMetadata = handoffKeysOf(metadata);

  if (!inMetadata.length) {
    // Handoff fields in the wrong place (or none at all: a plain chat thread, quietly not a job).
    const places: Array<[string, unknown]> = [
      ['value.thread (outside its metadata)', thread],
      ['value.metadata', value.metadata],
      ['the top level of value', value],
    ];
    for (const [where, obj] of places) {
      const keys = handoffKeysOf(obj);
      if (!keys.length) continue;
      const wrapper = thread ? '' : ' (value.thread is missing)';
      return {
        shape: `misplaced:${where}${thread ? '' : ':no_thread'}`,
        missing: REQUIRED_PATH,
        message:
          `${keys.join(', ')} found at ${where}${wrapper}, but a job needs ${REQUIRED_PATH}; ` +
          `expected value ${EXPECTED_SHAPE}`,
      };
    }
    return null;
  }

  // Handoff fields in the right place, but no usable instance.state (or another field malformed).
  const instance = metadata!.instance;
  let what: string;
  let shape: string;
  const parsed = HandoffMetadata.safeParse(metadata);
  if (instance === undefined || instance === null) {
    what = `value.thread.metadata has ${inMetadata.join(', ')} but no instance`;
    shape = 'no_instance';
  } else if (!isRecord(instance)) {
    what = `value.thread.metadata.instance is ${JSON.stringify(instance)}, not an object like {state: "pending"}`;
    shape = 'instance_not_object';
  } else if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join('.') ?? '';
    what = `value.thread.metadata${path ? `.${path}` : ''} is malformed (expected an object)`;
    shape = `malformed:${path}`;
  } else if (typeof instance.state === 'string' && instance.state !== '') {
    return null; // unreachable: parseJob would have accepted it
  } else if (instance.state === undefined || instance.state === null || instance.state === '') {
    what = 'value.thread.metadata.instance has no state';
    shape = 'no_state';
  } else {
    what = `value.thread.metadata.instance.state is ${JSON.stringify(instance.state)}, not a string such as "pending"`;
    shape = 'state_not_string';
  }
  return { shape, missing: REQUIRED_PATH, message: `${what}; a job needs ${REQUIRED_PATH}` };
}

/** What an activation runs with (protocol §6.2 step 3), plus the resolved executable path (step 4). */
export interface ResolvedSettings {
  agentType: AgentType;
  workFolder: string;
  executable: string;
  executablePath: string;
  model: string | null;
  effort: string | null;
  permissions: PermissionMode;
}

const BUILTIN_EXECUTABLE: Record<AgentType, string> = { claude_code: 'claude', codex: 'codex' };

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v : null);

/** Step 1: absolute → exists → directory → readable+executable (a folder you cannot enter is unusable). */
export async function checkWorkFolder(raw: unknown): Promise<string> {
  const folder = typeof raw === 'string' ? raw : '';
  if (!folder || !isAbsolute(folder)) {
    throw new WorkerError(
      'WORK_FOLDER_NOT_ABSOLUTE',
      folder
        ? `workspace.work_folder ${JSON.stringify(folder)} is not an absolute path.`
        : 'workspace.work_folder is missing.',
    );
  }
  let stat;
  try {
    stat = await fs.stat(folder);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new WorkerError('WORK_FOLDER_NOT_READABLE', `${folder} cannot be accessed (EACCES).`);
    throw new WorkerError('WORK_FOLDER_NOT_FOUND', `${folder} does not exist on this host.`);
  }
  if (!stat.isDirectory()) throw new WorkerError('WORK_FOLDER_NOT_A_DIR', `${folder} is not a directory.`);
  try {
    await fs.access(folder, fsConstants.R_OK | fsConstants.X_OK);
  } catch {
    throw new WorkerError('WORK_FOLDER_NOT_READABLE', `${folder} is not readable and enterable by the worker user.`);
  }
  return folder;
}

/** The real path of `p`, or `p` resolved when it does not exist (a root that is not there contains nothing real). */
async function realOrResolved(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    return resolve(p);
  }
}

function isInside(child: string, root: string, platform: NodeJS.Platform): boolean {
  const fold = (p: string): string => (platform === 'win32' || platform === 'darwin' ? p.toLowerCase() : p);
  const rel = relative(fold(root), fold(child));
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith('..' + sep));
}

/**
 * `policy.work_folder_roots` (docs/harness.md, "Policy"): the work folder's real path (symlinks and `..`
 * resolved) must be inside the real path of one of the roots. Returns the real path, which the agent then runs
 * in, so a symlink swapped after the check cannot move it elsewhere.
 */
export async function checkWorkFolderPolicy(
  folder: string,
  roots: readonly string[],
  platform: NodeJS.Platform = process.platform,
): Promise<string> {
  if (roots.length === 0) return folder;
  const real = await realOrResolved(folder);
  for (const root of roots) {
    if (isInside(real, await realOrResolved(root), platform)) return real;
  }
  throw new WorkerError(
    'WORK_FOLDER_NOT_ALLOWED',
    `${folder}${real !== folder ? ` (real path ${real})` : ''} is outside policy.work_folder_roots in config.yaml ` +
      `(${roots.join(', ')}).`,
  );
}

/**
 * Steps 1–4 of protocol §6.2, in order, each with the operator's `policy` (docs/harness.md, "Policy"). `resolveExecutable` is injected (the agents module owns PATH lookup)
 * and throws `AGENT_EXECUTABLE_NOT_FOUND`.
 */
export async function runChecklist(
  metadata: HandoffMetadata,
  config: Pick<WorkerConfig, 'agents'> & { policy?: PolicyConfig },
  resolveExecutable: (nameOrPath: string) => string,
): Promise<ResolvedSettings> {
  const policy = config.policy ?? DEFAULT_POLICY;
  const workFolder = await checkWorkFolderPolicy(
    await checkWorkFolder(metadata.workspace?.work_folder),
    policy.work_folder_roots,
  );

  const type = metadata.agent?.type;
  if (typeof type !== 'string' || !(AGENT_TYPES as readonly string[]).includes(type)) {
    const shown = type === undefined || type === null ? 'missing' : JSON.stringify(type);
    throw new WorkerError('AGENT_TYPE_UNSUPPORTED', `agent.type is ${shown}; supported: ${AGENT_TYPES.join(', ')}.`);
  }
  const agentType = type as AgentType;

  // Per field: envelope agent.* → config agents.<type>.* → built-in.
  const envAgent = metadata.agent ?? {};
  const defaults = config.agents[agentType] ?? {};
  const pick = (field: 'executable' | 'model' | 'effort' | 'permissions'): string | null =>
    str(envAgent[field]) ?? str(defaults[field]) ?? null;

  const permissions =
    envAgent.permissions !== undefined && envAgent.permissions !== null
      ? envAgent.permissions
      : (defaults.permissions ?? 'approval');
  if (typeof permissions !== 'string' || !(PERMISSION_MODES as readonly string[]).includes(permissions)) {
    throw new WorkerError(
      'PERMISSIONS_UNSUPPORTED',
      `agent.permissions is ${JSON.stringify(permissions)}; supported: ${PERMISSION_MODES.join(', ')}.`,
    );
  }
  if (policy.max_permissions === 'approval' && permissions === 'autonomous') {
    throw new WorkerError(
      'PERMISSIONS_UNSUPPORTED',
      'agent.permissions is "autonomous", but policy.max_permissions in config.yaml is "approval": ' +
        'this worker only runs agents that ask before using tools.',
    );
  }

  const configured = str(defaults.executable) ?? BUILTIN_EXECUTABLE[agentType];
  const requested = str(envAgent.executable);
  if (policy.envelope_executable === 'deny' && requested !== null && requested !== configured) {
    throw new WorkerError(
      'AGENT_EXECUTABLE_NOT_FOUND',
      `agent.executable ${JSON.stringify(requested)} is refused: policy.envelope_executable in config.yaml is ` +
        `"deny", so only agents.${agentType}.executable (${JSON.stringify(configured)}) runs.`,
    );
  }
  const executable = requested ?? configured;
  const executablePath = resolveExecutable(executable);
  return {
    agentType,
    workFolder,
    executable,
    executablePath,
    model: pick('model'),
    effort: pick('effort'),
    permissions: permissions as PermissionMode,
  };
}
