/**
 * Starting and ending conversations, shared by the stdio and HTTP transports. A conversation owns
 * the sandboxes it creates; ending it kills them (unless kept) and closes a caller-owned client.
 * The lifecycle log lines ("conversation started", "conversation ended") are fixed strings that
 * tests and operators grep for.
 */
import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/server';
import type { HopxClientApi } from '../client/types.js';
import type { Logger } from '../log.js';
import { createHopxMcpServer, type ServerOptions } from '../server.js';
import { Conversation } from '../conversation/conversation.js';
import type { ConversationMeta, ConversationRecord, StateStore } from '../state/types.js';
import type { Backend } from './backend.js';

export interface ServeOptions {
  backend: Backend;
  logger: Logger;
  /** Tool selection and output budget, passed to every McpServer. */
  server?: ServerOptions;
  keepSandboxes?: boolean;
  /** Where conversations are recorded (HTTP: shared by replicas with Redis); default in memory. */
  state?: StateStore;
  /** Extra registration on each McpServer (tests: conformance resources and prompts). */
  customizeServer?: (server: McpServer, conversation: Conversation) => void;
}

export interface OpenConversation {
  readonly conversation: Conversation;
  /** Builds a fresh McpServer bound to this conversation (the state lives in the conversation). */
  newServer(): McpServer;
  /** Ends it once: kills its sandboxes, closes a caller-owned client. */
  end(reason: string): Promise<void>;
  /**
   * Drops this replica's copy without killing anything: the conversation was ended elsewhere, or
   * lives on in the state store for another replica (shutdown with a shared store).
   */
  release(reason: string): Promise<void>;
}

export function openConversation(
  serve: ServeOptions,
  details: {
    transport: 'stdio' | 'http';
    era?: 'legacy' | 'modern';
    id?: string;
    client?: HopxClientApi;
    kind?: ConversationMeta['kind'];
    identity?: string;
    account?: string;
    /** Carry on this stored record (started by another replica, or before a restart). */
    resume?: ConversationRecord;
  },
): OpenConversation {
  const id = details.resume?.meta.id ?? details.id ?? randomUUID();
  const client = details.client ?? serve.backend.client;
  const ownsClient = client !== serve.backend.client;
  const conversation = new Conversation({
    id,
    client,
    backend: serve.backend.kind,
    // A caller's own client (its own HopX key) does not depend on the server's backend.
    backendUnavailable: ownsClient ? undefined : () => serve.backend.unavailable,
    backendCaveats: ownsClient ? undefined : () => serve.backend.caveats,
    keepSandboxes: serve.keepSandboxes,
    logger: serve.logger,
    state: serve.state,
    kind: details.kind,
    identity: details.identity,
    account: details.account,
    resume: details.resume,
  });
  const log = serve.logger.child({ conversation_id: id });
  log.info(
    { transport: details.transport, era: details.era, own_key: ownsClient, ...(details.resume ? { resumed: true } : {}) },
    details.resume ? 'conversation resumed' : 'conversation started',
  );

  let ending: Promise<void> | undefined;
  return {
    conversation,
    newServer() {
      const server = createHopxMcpServer(conversation, serve.server);
      serve.customizeServer?.(server, conversation);
      return server;
    },
    end(reason) {
      ending ??= (async () => {
        const started = Date.now();
        try {
          await conversation.end(reason);
        } catch (error) {
          log.warn({ err: error }, 'conversation cleanup failed');
        }
        if (ownsClient) await client.close().catch(() => {});
        log.info({ reason, ms: Date.now() - started }, 'conversation ended');
      })();
      return ending;
    },
    release(reason) {
      ending ??= (async () => {
        conversation.abandon();
        if (ownsClient) await client.close().catch(() => {});
        log.info({ reason }, 'conversation released');
      })();
      return ending;
    },
  };
}
