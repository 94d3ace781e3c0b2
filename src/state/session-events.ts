/**
 * One 2025-era session's view of the shared EventStore. Its stream ids are prefixed with the
 * session id, so an event id from another session never replays here (it is "not found"), even
 * though every session of every replica shares one store.
 */
import type { EventId, EventStore, JSONRPCMessage, StreamId } from '@modelcontextprotocol/server';
import { parseEventId } from './memory.js';

export function sessionEventStore(shared: EventStore, sessionId: string): EventStore {
  const prefix = `${sessionId}.`;
  const inner = (id: EventId): StreamId | undefined => {
    const streamId = parseEventId(id)?.streamId;
    return streamId?.startsWith(prefix) ? streamId.slice(prefix.length) : undefined;
  };
  return {
    storeEvent: (streamId: StreamId, message: JSONRPCMessage) => shared.storeEvent(prefix + streamId, message),
    async getStreamIdForEventId(id: EventId) {
      const streamId = inner(id);
      if (streamId === undefined) return undefined;
      return shared.getStreamIdForEventId ? ((await shared.getStreamIdForEventId(id)) === undefined ? undefined : streamId) : streamId;
    },
    async replayEventsAfter(lastEventId: EventId, options: { send: (id: EventId, message: JSONRPCMessage) => Promise<void> }) {
      const streamId = inner(lastEventId);
      if (streamId === undefined) throw new Error(`Event ${lastEventId} is not from this session.`);
      await shared.replayEventsAfter(lastEventId, options);
      return streamId;
    },
  };
}
