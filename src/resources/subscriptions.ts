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
 */
import type { ServerResponse } from 'node:http';
import { ProtocolError, type McpServer } from '@modelcontextprotocol/server';
import type { Conversation } from '../conversation/conversation.js';
import type { UpdateSink } from '../conversation/watches.js';

export function registerSubscriptions(server: McpServer, conversation: Conversation): void {
  server.server.registerCapabilities({ resources: { subscribe: true } });
  const sink: UpdateSink = (uri) => {
    server.server.sendResourceUpdated({ uri }).catch((err: unknown) => conversation.logger.debug({ uri, err: String(err) }, 'resource update not delivered'));
  };
  server.server.setRequestHandler('resources/subscribe', async (request) => {
    await conversation.watches.subscribe(request.params.uri, server, sink);
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
export async function watchListenStream(conversation: Conversation, body: unknown, res: ServerResponse, sink: UpdateSink): Promise<boolean> {
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
      await conversation.watches.subscribe(uri, stream, sink);
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
