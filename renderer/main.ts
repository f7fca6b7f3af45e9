/**
 * Renderer entry (an IIFE: Chromium blocks module scripts over file://). Routes by `location.hash`:
 * #dashboard, #login, #prompt/<id>. Pulls the snapshot once, then follows `snapshot:changed` pushes.
 */
import type { Snapshot } from '../main/core/snapshot';
import { api, call, errorText } from './api';
import { h } from './dom';
import { mountDashboard } from './views/dashboard';
import { mountLogin } from './views/login';
import { mountPrompt } from './views/prompt';

type Route = { view: 'dashboard' } | { view: 'login' } | { view: 'prompt'; promptId: string };

export function parseRoute(hash: string): Route {
  const m = /^#prompt\/(.+)$/.exec(hash);
  if (m) return { view: 'prompt', promptId: decodeURIComponent(m[1]) };
  return hash === '#login' ? { view: 'login' } : { view: 'dashboard' };
}

let unsubscribe: (() => void) | null = null;

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  unsubscribe?.();
  unsubscribe = null;
  const route = parseRoute(location.hash);
  document.title =
    route.view === 'login'
      ? 'Sign in — BlobHub Worker'
      : route.view === 'prompt'
        ? 'Answer prompt — BlobHub Worker'
        : 'BlobHub Worker';
  if (route.view === 'login') return mountLogin(root);

  let snapshot: Snapshot;
  try {
    snapshot = await call(api().snapshotGet());
  } catch (e) {
    const err = errorText(e);
    root.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, `${err.code}: ${err.message}`));
    return;
  }
  const view = route.view === 'prompt' ? mountPrompt(root, route.promptId, snapshot) : mountDashboard(root);
  view.update(snapshot);
  unsubscribe = api().onSnapshot((s) => view.update(s));
}

window.addEventListener('hashchange', () => void boot());
void boot();
