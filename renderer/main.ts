/**
 * Renderer entry (an IIFE: Chromium blocks module scripts over file://). Routes by `location.hash`:
 * #dashboard, #thread/<section>/<alias>, #login, #prompt/<id>. Pulls the snapshot once, then follows
 * `snapshot:changed` pushes; a thread view also follows its thread's `thread:entries`.
 */
import type { Snapshot } from '../main/core/snapshot';
import { api, call, errorText } from './api';
import { h } from './dom';
import { mountDashboard } from './views/dashboard';
import { mountLogin } from './views/login';
import { mountPrompt } from './views/prompt';
import { mountThread } from './views/thread';

type Route =
  | { view: 'dashboard' }
  | { view: 'login' }
  | { view: 'prompt'; promptId: string }
  | { view: 'thread'; sectionId: string; alias: string };

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null; // a malformed escape: not a route we made
  }
}

export function parseRoute(hash: string): Route {
  const m = /^#prompt\/(.+)$/.exec(hash);
  if (m) {
    const promptId = decode(m[1]);
    if (promptId) return { view: 'prompt', promptId };
  }
  const t = /^#thread\/([^/]+)\/([^/]+)$/.exec(hash);
  if (t) {
    const sectionId = decode(t[1]);
    const alias = decode(t[2]);
    if (sectionId && alias) return { view: 'thread', sectionId, alias };
  }
  return hash === '#login' ? { view: 'login' } : { view: 'dashboard' };
}

const TITLES: Record<Route['view'], string> = {
  login: 'Sign in — BlobHub Worker',
  prompt: 'Answer prompt — BlobHub Worker',
  dashboard: 'BlobHub Worker',
  thread: 'Thread — BlobHub Worker',
};

/** Ends the current view (its snapshot and thread subscriptions). */
let teardown: (() => void) | null = null;
/** Each boot gets a number; a slower earlier boot finding a newer one leaves the page to it. */
let generation = 0;

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  const mine = ++generation;
  teardown?.();
  teardown = null;
  const route = parseRoute(location.hash);
  document.title = route.view === 'thread' ? `${route.alias} — BlobHub Worker` : TITLES[route.view];
  if (route.view === 'login') return mountLogin(root);

  let snapshot: Snapshot;
  try {
    snapshot = await call(api().snapshotGet());
  } catch (e) {
    const err = errorText(e);
    root.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `${err.code}: ${err.message}`));
    return;
  }
  if (mine !== generation) return;
  const view: { update(s: Snapshot): void; dispose?(): void } =
    route.view === 'prompt'
      ? mountPrompt(root, route.promptId, snapshot)
      : route.view === 'thread'
        ? mountThread(root, route)
        : mountDashboard(root);
  view.update(snapshot);
  const stopSnapshots = api().onSnapshot((s) => view.update(s));
  teardown = () => {
    stopSnapshots();
    view.dispose?.();
  };
}

window.addEventListener('hashchange', () => void boot());
void boot();
