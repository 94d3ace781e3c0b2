/**
 * Test harness: a real SDK client over InMemoryTransport against a real hopx-mcp server, bound
 * to a Conversation over a real HopxClient (pointed at the local backend for tool tests).
 */
import { randomUUID } from 'node:crypto';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { HopxClient } from '../../src/client/index.js';
import type { HopxClientApi } from '../../src/client/types.js';
import { silentLogger } from '../../src/log.js';
import { createHopxMcpServer, type ServerOptions } from '../../src/server.js';
import { Conversation, type ConversationOptions } from '../../src/conversation/conversation.js';

export interface Connected {
  client: Client;
  conversation: Conversation;
  /** Closes the MCP connection and ends the conversation (killing what it created). */
  close(): Promise<void>;
}

export function makeConversation(client: HopxClientApi, overrides: Partial<ConversationOptions> = {}): Conversation {
  return new Conversation({ id: randomUUID(), client, backend: 'local', logger: silentLogger(), ...overrides });
}

export async function connect(conversation: Conversation, options: ServerOptions = {}): Promise<Connected> {
  const server = createHopxMcpServer(conversation, options);
  const client = new Client({ name: 'hopx-mcp-tests', version: '1.0.0' });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  // With tools/list cached, the SDK client checks every structuredContent against the output
  // schema the server advertised (the lean one), so every tool test also checks that contract.
  await client.listTools();
  return {
    client,
    conversation,
    async close() {
      await client.close();
      await server.close();
      await conversation.end('test finished');
    },
  };
}

/** A client whose backend is never called (tools/list, validation): nothing listens on port 9. */
export function unreachableClient(): HopxClient {
  return new HopxClient({ apiKey: 'hopx_test_unused', baseUrl: 'http://127.0.0.1:9', maxRetries: 0, requestTimeoutMs: 2000 });
}

type ToolResult = Awaited<ReturnType<Client['callTool']>>;

/** The text of a tool result's first text block. */
export function textOf(result: ToolResult): string {
  const block = (result.content as { type: string; text?: string }[]).find((c) => c.type === 'text');
  return block?.text ?? '';
}

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return client.callTool({ name, arguments: args });
}

/** Calls a tool and fails the test with the tool's own message when it returns isError. */
export async function callOk(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult & { structuredContent: Record<string, any> }> {
  const r = await call(client, name, args);
  if (r.isError) throw new Error(`${name} failed: ${textOf(r)}`);
  return r as ToolResult & { structuredContent: Record<string, any> };
}
