/**
 * hopx-mcp as a library: build the MCP server over your own HopX client, or run the transports
 * programmatically (the `hopx-mcp` command is a thin wrapper over these).
 */
export { createHopxMcpServer, TOOLSETS, type ServerOptions, type ToolDefinition } from './server.js';
export { Conversation, type ConversationOptions } from './conversation/conversation.js';
export { HopxClient } from './client/index.js';
export type * from './client/types.js';
export { startLocalBackend } from './local/index.js';
export { resolveConfig, ConfigError, type Config } from './config.js';
export { openBackend, type Backend, type BackendOptions } from './transports/backend.js';
export { openConversation, type ServeOptions, type OpenConversation } from './transports/conversations.js';
export { startStdioServer, type StdioServer, type StdioIo } from './transports/stdio.js';
export { deferBackend, type DeferredBackend } from './transports/deferred-backend.js';
export {
  startHttpServer,
  HttpStartError,
  CALLER_KEY_HEADER,
  MCP_PATH,
  type HttpServer,
  type HttpServerOptions,
} from './transports/http.js';
export { createLogger, silentLogger, type Logger } from './log.js';
