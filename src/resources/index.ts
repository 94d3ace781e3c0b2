/**
 * The resource registry and the one registration seam (docs/conventions.md convention 6).
 *
 * Resources: a sandbox's info, metrics and files, its background processes, whole outputs that
 * tool results had to cut (kept in the sandbox), and the template catalogue. Lists and
 * completions show only this conversation's sandboxes, and reads refuse sandboxes the
 * conversation neither created nor connected.
 *
 * `registerResources` is the only code that calls `McpServer.registerResource`. It wraps every
 * read with: percent-decoding of the URI's variables, the read scope for OAuth callers, the MCP
 * request's abort signal, logging of failures, and error translation (a missing file, sandbox or
 * output is the protocol's "resource not found"; any other failure says what to do next). When a
 * resource can be subscribed, it registers the subscription handlers too.
 */
import {
  ResourceNotFoundError,
  ResourceTemplate,
  UriTemplate,
  type McpServer,
  type ReadResourceResult,
  type ServerContext,
} from '@modelcontextprotocol/server';
import type { Conversation } from '../conversation/conversation.js';
import { errorText, isNotFoundError } from '../errors.js';
import { requireScope, SCOPE_READ } from '../auth/scopes.js';
import { decodeVariables, type ResourceContext, type ResourceDefinition, type UriVariables } from './resource.js';
import { registerSubscriptions } from './subscriptions.js';
import templateResources from './templates.js';
import fileResources from './files.js';
import metricsResources from './metrics.js';
import outputResources from './outputs.js';
import processResources from './processes.js';
import sandboxResources from './sandbox.js';

export const allResources: readonly ResourceDefinition[] = [
  ...templateResources,
  ...fileResources,
  ...metricsResources,
  ...outputResources,
  ...processResources,
  // Last: its `{sandbox_id}` pattern is the least specific.
  ...sandboxResources,
];

/** Reading any resource needs sandbox:read from OAuth callers (403 insufficient_scope otherwise). */
const READ_SCOPE = { scopeChallenge: requireScope(SCOPE_READ) };

/**
 * Runs a read, turning errors into ones whose message says what to do next; a missing file,
 * sandbox or output is the protocol's "resource not found" (the SDK's ResourceNotFoundError:
 * -32602 with data.uri), not an internal error.
 */
async function guarded<T>(conversation: Conversation, uri: string, read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    conversation.logger.info({ uri, err: String(err) }, 'resource read failed');
    if (isNotFoundError(err)) throw new ResourceNotFoundError(uri, errorText(err));
    throw new Error(errorText(err), { cause: err });
  }
}

export interface RegisterResourceDeps {
  conversation: Conversation;
  /** Read-only server: reads must not extend sandbox leases (a PUT on HopX) either. */
  readOnly: boolean;
}

export function registerResources(server: McpServer, resources: readonly ResourceDefinition[], deps: RegisterResourceDeps): void {
  const { conversation } = deps;
  const contextOf = (mcp: ServerContext): ResourceContext => ({ conversation, readOnly: deps.readOnly, signal: mcp.mcpReq.signal });
  const read = (resource: ResourceDefinition, href: string, variables: UriVariables, mcp: ServerContext): Promise<ReadResourceResult> =>
    guarded(conversation, href, () => resource.read(contextOf(mcp), variables, href));

  for (const resource of resources) {
    const metadata = { title: resource.title, description: resource.description, mimeType: resource.mimeType, ...READ_SCOPE };
    if (!UriTemplate.isTemplate(resource.uri)) {
      server.registerResource(resource.name, resource.uri, metadata, (uri, mcp) => read(resource, uri.href, {}, mcp));
      continue;
    }
    const { list, complete = {} } = resource;
    const template = new ResourceTemplate(resource.uri, {
      list: list && (async (mcp) => ({ resources: await list(contextOf(mcp)) })),
      complete: Object.fromEntries(
        Object.entries(complete).map(([name, completer]) => [name, (value: string, context?: { arguments?: Record<string, string> }) => completer(conversation, value, context?.arguments ?? {})]),
      ),
    });
    server.registerResource(resource.name, template, metadata, (uri, variables, mcp) => read(resource, uri.href, decodeVariables(variables), mcp));
  }
  if (resources.some((r) => r.watch)) registerSubscriptions(server, conversation, resources);
}
