/**
 * Resource subscriptions (`resources: {subscribe: true}`), in both protocol eras, over the
 * conversation's watches (src/conversation/watches.ts):
 * - 2025 era: resources/subscribe and resources/unsubscribe on the session's server; updates go
 *   out as that session's notifications/resources/updated. A closed session stops its watches.
 * - 2026 era: subscriptions/listen is served by the SDK; before it is, the HTTP transport hands the
 *   request here (watchListenStream) so the URIs it names are checked and watched, and updates are
 *   published through the SDK's notifier (its ServerEventBus: any replica's listen stream hears
 *   them). The stream closing stops its watches.
 * The end of the conversation stops every watch.
 * Which URIs can be subscribed, and what each watches, the resource definitions say (`watch`).
 */
import type { ServerResponse } from 'node:http';
import { ProtocolError, UriTemplate, type McpServer } from '@modelcontextprotocol/server';
import type { Conversation } from '../conversation/conversation.js';
import type { UpdateSink, WatchTarget } from '../conversation/watches.js';
import { decodeVariables, type ResourceDefinition } from './resource.js';

const INVALID_PARAMS = -32602;

/**
 * What a subscription to `uri` watches: the `watch` of the resource whose template matches it.
 * A URI no subscribable resource takes is a protocol error naming the URI and those that can be.
 */
function watchTargetOf(resources: readonly ResourceDefinition[], uri: string): WatchTarget {
  const subscribable = resources.filter((r) => r.watch);
  for (const resource of subscribable) {
    let variables;
    try {
      variables = new UriTemplate(resource.uri).match(uri);
    } catch {
      variables = null; // longer than any URI template takes
    }
    const target = variables && resource.watch!(decodeVariables(variables));
    if (target) return target;
  }
  const which = subscribable.map((r) => `${r.title.toLowerCase()} (${r.uri})`);
  throw new ProtocolError(INVALID_PARAMS, `${uri} cannot be subscribed; ${which.slice(0, -1).join(', ')} and ${which.at(-1)} can.`, { uri });
}

export function registerSubscriptions(server: McpServer, conversation: Conversation, resources: readonly ResourceDefinition[]): void {
  server.server.registerCapabilities({ resources: { subscribe: true } });
  const sink: UpdateSink = (uri) => {
    server.server.sendResourceUpdated({ uri }).catch((err: unknown) => conversation.logger.debug({ uri, err: String(err) }, 'resource update not delivered'));
  };
  server.server.setRequestHandler('resources/subscribe', async (request) => {
    const { uri } = request.params;
    await conversation.watches.subscribe(uri, watchTargetOf(resources, uri), server, sink);
    return {};
  });
  server.server.setRequestHandler('resources/unsubscribe', (request) => {
    conversation.watches.unsubscribe(request.params.uri, server);
    return {};
  });
  const previous = server.server.onclose;
  server.server.onclose = () => {
    conversation.watches.unsubscribeAll(server);
    previous?.();
  };
}

/** The SDK handler's notifier (`createMcpHandler(...).notify`): one per handler, so one channel. */
export interface ListenNotifier {
  resourceUpdated(uri: string): void;
}

/** A 2026-era `subscriptions/listen` request body, by its method. */
function isListenRequest(body: unknown): body is { id: string | number; method: 'subscriptions/listen'; params?: { notifications?: { resourceSubscriptions?: unknown } } } {
  return typeof body === 'object' && body !== null && (body as { method?: unknown }).method === 'subscriptions/listen';
}

/**
 * Watches the URIs a listen request subscribes to, until its stream closes. Returns false when it
 * refused the request (a URI that cannot be watched): it answered with a JSON-RPC error naming the
 * URI, in band (HTTP 200) like the SDK's own listen errors, and nothing is watched. Otherwise the
 * caller hands the request on to the SDK, which acknowledges it.
 */
export async function watchListenStream(
  conversation: Conversation,
  resources: readonly ResourceDefinition[],
  body: unknown,
  res: ServerResponse,
  notify: ListenNotifier,
): Promise<boolean> {
  if (!isListenRequest(body)) return true;
  const requested = body.params?.notifications?.resourceSubscriptions;
  if (!Array.isArray(requested) || requested.length === 0) return true;
  const stream = {};
  let closed = false;
  res.once('close', () => {
    closed = true;
    conversation.watches.unsubscribeAll(stream);
  });
  try {
    for (const uri of requested as unknown[]) {
      if (typeof uri !== 'string') throw new ProtocolError(-32602, 'resourceSubscriptions must be a list of URI strings.', { uri });
      await conversation.watches.subscribe(uri, watchTargetOf(resources, uri), stream, (u) => notify.resourceUpdated(u), notify);
    }
  } catch (err) {
    conversation.watches.unsubscribeAll(stream);
    const e = err instanceof ProtocolError ? err : new ProtocolError(-32603, String(err));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: body.id, error: { code: e.code, message: e.message, ...(e.data !== undefined ? { data: e.data } : {}) } }));
    return false;
  }
  // The client went away while the watches started.
  if (closed) conversation.watches.unsubscribeAll(stream);
  return true;
}
