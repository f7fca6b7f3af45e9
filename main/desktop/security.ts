/**
 * Pure security rules of the Electron shell: the Content-Security-Policy (the same string is in
 * renderer/index.html's meta tag and in the session header; a test keeps them equal) and the check that
 * an IPC message comes from a window we created, from its main frame, showing our own index.html.
 */

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export interface SenderFacts {
  webContentsId: number;
  /** True when the message came from the main frame (not an iframe). */
  isMainFrame: boolean;
  /** The sending frame's URL. */
  frameUrl: string;
}

/** Strips the hash (our routes live there) and compares the rest exactly; parsing, never `startsWith`. */
export function isOwnPage(frameUrl: string, indexUrl: string): boolean {
  try {
    const a = new URL(frameUrl);
    const b = new URL(indexUrl);
    return (
      a.protocol === 'file:' &&
      a.protocol === b.protocol &&
      a.host === b.host &&
      a.pathname === b.pathname &&
      a.search === ''
    );
  } catch {
    return false;
  }
}

export function isTrustedSender(facts: SenderFacts, ourWebContents: ReadonlySet<number>, indexUrl: string): boolean {
  return ourWebContents.has(facts.webContentsId) && facts.isMainFrame && isOwnPage(facts.frameUrl, indexUrl);
}

/** The routes windows open with (the contract's WindowRequest). */
export type RouteRequest =
  | { view: 'dashboard' | 'login' }
  | { view: 'prompt'; promptId: string }
  | { view: 'thread'; sectionId: string; alias: string };

/** Windows open with this hash route. */
export function routeHash(request: RouteRequest): string {
  switch (request.view) {
    case 'prompt':
      return `#prompt/${encodeURIComponent(request.promptId)}`;
    case 'thread':
      return `#thread/${encodeURIComponent(request.sectionId)}/${encodeURIComponent(request.alias)}`;
    default:
      return `#${request.view}`;
  }
}

/**
 * The key of the window that shows a route: one dashboard (a thread view is shown in it), one login, one
 * window per prompt.
 */
export function windowKey(request: RouteRequest): string {
  if (request.view === 'prompt') return `prompt:${request.promptId}`;
  return request.view === 'thread' ? 'dashboard' : request.view;
}
