// proxy-from-env ships no types (its 2.x API is this one function).
declare module 'proxy-from-env' {
  /** The proxy URL for `url` from the *_PROXY / NO_PROXY environment variables, or '' for a direct connection. */
  export function getProxyForUrl(url: string | URL): string;
}
