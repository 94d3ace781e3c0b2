/**
 * A Backend handed out before the real one exists, so that stdio can answer the MCP handshake
 * without first loading the HopX client (undici) or starting the local backend: those cost more
 * than the rest of cold start together and the handshake needs neither.
 *
 * Only `kind` is known up front. Everything else forwards to the real backend once `start()` has
 * resolved; the stdio gate holds every request that could reach HopX until then, so a use before
 * that is a bug and fails loudly rather than waiting silently.
 *
 * This module must not import the client or the local backend (that is the point of it).
 */
import type { HopxClientApi } from '../client/types.js';
import type { Backend } from './backend.js';

export interface DeferredBackend {
  /** Usable at once for building conversations; forwards to the real backend once started. */
  readonly backend: Backend;
  /** Opens the real backend (once; later calls return the same promise). */
  start(): Promise<Backend>;
}

export function deferBackend(kind: Backend['kind'], open: () => Promise<Backend>): DeferredBackend {
  let starting: Promise<Backend> | undefined;
  let real: Backend | undefined;
  const current = (): Backend => {
    if (!real) throw new Error('hopx-mcp: the backend was used before it finished starting (a request slipped past the stdio gate)');
    return real;
  };
  const start = (): Promise<Backend> =>
    (starting ??= open().then((opened) => (real = opened)));

  // Forwards property reads to the real client: methods bound to it, objects (sandboxes,
  // templates) as they are. The identity of this object stays fixed, which openConversation
  // relies on to tell the shared client from a caller's own.
  const client = new Proxy({} as HopxClientApi, {
    get(_target, property) {
      const target = current().client;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });

  const backend: Backend = {
    kind,
    get baseUrl() {
      return real?.baseUrl ?? '(starting)';
    },
    client,
    get unavailable() {
      return real?.unavailable;
    },
    get caveats() {
      return real?.caveats;
    },
    clientForKey: (apiKey) => current().clientForKey(apiKey),
    async close() {
      if (!starting) return; // never started: nothing to close
      const opened = await starting.catch(() => undefined);
      await opened?.close();
    },
  };
  return { backend, start };
}
