/**
 * #login: API URL + API key → `auth:login` (the core validates the key with GET /users/me). Inline errors
 * for AUTH_INVALID and network trouble; a key of another user than the recorded one asks for confirmation
 * first (USER_IDENTITY_MISMATCH), then re-submits with `confirmIdentityChange`. The key lives only in the
 * password field and this closure until it is sent; nothing sends it back.
 */
import type { LoginResult } from '../../main/ipc/contract';
import { api, call, errorText } from '../api';
import { h } from '../dom';

export const DEFAULT_API_URL = 'https://api.blobhub.io/v1';

type Identity = { user_id: string; name: string | null; email: string | null };
const who = (i: Identity) => [i.name, i.email && `<${i.email}>`].filter(Boolean).join(' ') || i.user_id;

const MESSAGES: Record<string, string> = {
  AUTH_INVALID: 'The API key was rejected (401/403). Check that you copied the whole key.',
  API_NETWORK_ERROR: 'Could not reach the API. Check the URL and your network.',
  INSECURE_CREDENTIALS_PERMISSIONS: 'credentials.yaml is readable by others; fix its permissions first (chmod 600).',
};

export function mountLogin(root: HTMLElement): void {
  const url = h('input', {
    id: 'api-url',
    name: 'apiUrl',
    type: 'url',
    required: true,
    value: DEFAULT_API_URL,
    autocomplete: 'url',
    spellcheck: 'false',
  });
  const key = h('input', {
    id: 'api-key',
    name: 'apiKey',
    type: 'password',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'login-error',
  });
  const error = h('div', { id: 'login-error', class: 'form-error', role: 'alert', 'data-testid': 'login-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const sandbox = h('button', { type: 'button', class: 'secondary', 'data-testid': 'sandbox' }, 'Try a local sandbox');
  const confirm = h('div', { class: 'confirm', hidden: true, 'data-testid': 'identity-confirm' });
  const done = h('div', { class: 'success', role: 'status', 'data-testid': 'login-success' });

  const form = h(
    'form',
    { class: 'login', 'aria-labelledby': 'login-title', novalidate: true },
    h('h1', { id: 'login-title' }, 'Sign in to BlobHub'),
    h('p', { class: 'muted' }, 'Use the API key of the service-account user this worker acts as.'),
    h('div', { class: 'field' }, h('label', { for: 'api-url' }, 'API URL'), url),
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), key),
    error,
    h('div', { class: 'buttons' }, submit, sandbox),
  );
  root.replaceChildren(h('main', { class: 'login-view' }, form, confirm, done));

  const setBusy = (busy: boolean) => {
    for (const el of [url, key, submit, sandbox]) el.disabled = busy;
  };
  const showError = (code: string, message: string) => {
    error.replaceChildren(h('code', null, code), ' ', MESSAGES[code] ?? message);
    key.setAttribute('aria-invalid', code === 'AUTH_INVALID' ? 'true' : 'false');
  };

  async function attempt(confirmIdentityChange: boolean): Promise<void> {
    error.replaceChildren();
    const apiUrl = url.value.trim();
    const apiKey = key.value.trim();
    if (!apiKey) return showError('USAGE', 'Enter an API key.');
    if (!/^https?:\/\//.test(apiUrl))
      return showError('USAGE', 'The API URL must start with https:// (or http:// for a local server).');
    setBusy(true);
    try {
      const result: LoginResult = await call(
        api().authLogin({ apiUrl, apiKey, ...(confirmIdentityChange ? { confirmIdentityChange } : {}) }),
      );
      if (result.ok) return succeed(result.identity);
      if (result.code === 'USER_IDENTITY_MISMATCH') return askToConfirm(result.recorded, result.server);
      showError(result.code, result.message);
    } catch (e) {
      const err = errorText(e);
      showError(err.code, err.message);
    } finally {
      setBusy(false);
    }
  }

  function succeed(identity: Identity): void {
    key.value = '';
    form.hidden = true;
    confirm.hidden = true;
    done.replaceChildren(
      h('h1', null, 'Signed in'),
      h('p', null, `The worker now acts as ${who(identity)}.`),
      h(
        'button',
        { type: 'button', class: 'primary', on: { click: () => void api().windowOpen({ view: 'dashboard' }) } },
        'Open dashboard',
      ),
    );
    // Signed in: the dashboard takes over (it shows how the restarted worker is doing).
    void api()
      .windowOpen({ view: 'dashboard' })
      .then(() => api().windowClose());
  }

  function askToConfirm(recorded: Identity, server: Identity): void {
    form.hidden = true;
    const yes = h(
      'button',
      {
        type: 'button',
        class: 'primary danger',
        on: {
          click: () => {
            confirm.hidden = true;
            form.hidden = false;
            void attempt(true);
          },
        },
      },
      `Switch to ${who(server)}`,
    );
    const no = h(
      'button',
      {
        type: 'button',
        on: {
          click: () => {
            confirm.hidden = true;
            form.hidden = false;
            key.value = '';
            key.focus();
          },
        },
      },
      'Cancel',
    );
    confirm.replaceChildren(
      h('h1', null, 'A different user'),
      h(
        'p',
        null,
        'This key belongs to another BlobHub user than the one this worker was set up for. Sessions attached by the previous user will be refused until they are freed.',
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'Recorded user'),
        h('dd', { 'data-testid': 'recorded-user' }, `${who(recorded)} (${recorded.user_id})`),
        h('dt', null, 'New user'),
        h('dd', { 'data-testid': 'new-user' }, `${who(server)} (${server.user_id})`),
      ),
      h('div', { class: 'buttons' }, yes, no),
    );
    confirm.hidden = false;
    yes.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt(false);
  });
  sandbox.addEventListener('click', () => {
    error.replaceChildren();
    setBusy(true);
    sandbox.textContent = 'Starting the sandbox…';
    // The app switches to a local demo worker (nothing is signed in); the dashboard shows it live.
    void call(api().sandboxStart())
      .then(() => api().windowOpen({ view: 'dashboard' }))
      .then(() => api().windowClose())
      .catch((e: unknown) => {
        const err = errorText(e);
        showError(err.code, err.message);
      })
      .finally(() => {
        setBusy(false);
        sandbox.textContent = 'Try a local sandbox';
      });
  });
  key.focus();
}
