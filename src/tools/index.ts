/**
 * The tool registry and the one registration seam (docs/conventions.md convention 4).
 *
 * `registerTools` is the only code that calls `McpServer.registerTool`. It wraps every handler
 * with: input validation that names the field and the fix, a check that the conversation is still
 * open, the MCP request's abort signal handed to the client, timing and logging to stderr, output
 * schema parsing, and error translation through `toToolError`.
 */
import type { CallToolResult, ContentBlock, McpServer, ServerContext, StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { requireScope, scopeForKind } from '../auth/scopes.js';
import { isKnownError, toToolError } from '../errors.js';
import { redactSecrets } from '../text/secrets.js';
import type { Conversation } from '../conversation/conversation.js';
import { leanInputSchema, leanOutputSchema } from './advertise.js';
import { annotationsFor, descriptionFor, inputFor, OFF_BY_DEFAULT, TOOLSETS, type OutputBudget, type ToolDefinition, type Toolset } from './tool.js';
import { validateInput } from './validation.js';
import { startProgress } from './progress.js';
import sandboxTools from './sandbox.js';
import codeTools from './code.js';
import processTools from './processes.js';
import commandTools from './commands.js';
import fileTools from './files.js';
import envTools from './env.js';
import previewTools from './preview.js';
import metricsTools from './metrics.js';
import cacheTools from './cache.js';
import terminalTools from './terminal.js';
import desktopTools from './desktop.js';

export { OFF_BY_DEFAULT, TOOLSETS, descriptionFor, inputFor, type BackendKind } from './tool.js';

export const allTools: readonly ToolDefinition[] = [
  ...sandboxTools,
  ...codeTools,
  ...processTools,
  ...commandTools,
  ...fileTools,
  ...envTools,
  ...previewTools,
  ...metricsTools,
  ...cacheTools,
  ...terminalTools,
  ...desktopTools,
];

export interface ToolFilter {
  /** Toolset names to enable; undefined or empty = all but OFF_BY_DEFAULT. */
  toolsets?: readonly string[];
  /** Drop every tool whose kind is not `read`. */
  readOnly?: boolean;
}

/** Throws on an unknown toolset name, listing the valid ones. */
function checkToolsets(names: readonly string[]): Toolset[] {
  const unknown = names.filter((n) => !(TOOLSETS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new Error(`Unknown toolset${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; valid toolsets: ${TOOLSETS.join(', ')}.`);
  }
  return names as Toolset[];
}

export function filterTools(tools: readonly ToolDefinition[], filter: ToolFilter = {}): ToolDefinition[] {
  const sets = filter.toolsets && filter.toolsets.length > 0 ? new Set(checkToolsets(filter.toolsets)) : null;
  const enabled = (t: ToolDefinition) => (sets === null ? !OFF_BY_DEFAULT.includes(t.toolset) : sets.has(t.toolset));
  return tools.filter((t) => enabled(t) && (!filter.readOnly || t.kind === 'read'));
}

type StandardProps = StandardSchemaWithJSON['~standard'];
type AnyObject = ReturnType<typeof inputFor>;

/**
 * The SDK validates arguments before calling the handler and reports failures as a raw zod
 * message. Registering this wrapper (the lean JSON Schema in tools/list, validation always
 * passing) lets the seam validate with the real schema and phrase the error itself.
 */
function advertiseOnly(schema: AnyObject): StandardSchemaWithJSON {
  const std = schema['~standard'] as unknown as StandardProps;
  const jsonSchema: StandardProps['jsonSchema'] = {
    input: (o) => leanInputSchema(std.jsonSchema.input(o)),
    output: (o) => leanInputSchema(std.jsonSchema.output(o)),
  };
  return { '~standard': { version: 1, vendor: 'hopx-mcp', validate: (value: unknown) => ({ value }), jsonSchema } };
}

/** The output schema as is (the SDK still validates results with it), advertised lean. */
function advertisedOutput(schema: NonNullable<ToolDefinition['output']>, inputNames: readonly string[]): StandardSchemaWithJSON {
  const std = schema['~standard'] as unknown as StandardProps;
  const jsonSchema: StandardProps['jsonSchema'] = {
    input: (o) => leanOutputSchema(std.jsonSchema.input(o), inputNames),
    output: (o) => leanOutputSchema(std.jsonSchema.output(o), inputNames),
  };
  return { '~standard': { ...std, jsonSchema } };
}

export interface RegisterDeps {
  conversation: Conversation;
  budget: OutputBudget;
  /** Read-only server: tools must not extend sandbox leases either. */
  readOnly?: boolean;
  /** The longest a call with a progress token goes without a progress notification. Default 5 000 ms. */
  progressIntervalMs?: number;
  /** Hosting hooks around every call (per-caller limits, metrics); see ToolCallHooks. */
  hooks?: ToolCallHooks;
}

/** How a call ended: a result, a refused input, a domain error, or an unexpected failure. */
type ToolCallOutcome = 'ok' | 'error' | 'invalid_input' | 'failed';

/**
 * Seams for the HTTP host (src/transports/hosting): `around` may refuse a call with a result before
 * it runs (a per-caller limit) or hold something for its duration; `ended` sees every call's
 * outcome and duration (metrics). Both are optional; stdio uses neither.
 */
export interface ToolCallHooks {
  around?(call: { tool: ToolDefinition; conversation: Conversation; mcp: ServerContext }, run: () => Promise<CallToolResult>): Promise<CallToolResult>;
  ended?(call: { tool: ToolDefinition; outcome: ToolCallOutcome; seconds: number; error?: unknown }): void;
}

export function registerTools(server: McpServer, tools: readonly ToolDefinition[], deps: RegisterDeps): void {
  const { backend } = deps.conversation;
  for (const tool of tools) {
    const input = inputFor(tool, backend);
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: descriptionFor(tool, backend),
        inputSchema: advertiseOnly(input),
        outputSchema: tool.output && !tool.confirmation ? advertisedOutput(tool.output, Object.keys(input.shape)) : undefined,
        annotations: annotationsFor(tool),
        // OAuth callers only (stdio and the static token carry no scopes): 403 insufficient_scope.
        scopeChallenge: requireScope(scopeForKind(tool.kind)),
      },
      ((args: unknown, mcp: ServerContext) => {
        const hooks = deps.hooks;
        if (!hooks?.around) return runTool(tool, args, mcp, deps);
        return hooks.around({ tool, conversation: deps.conversation, mcp }, () => runTool(tool, args, mcp, deps));
      }) as never,
    );
  }
}

async function runTool(tool: ToolDefinition, rawArgs: unknown, mcp: ServerContext, deps: RegisterDeps): Promise<CallToolResult> {
  const { conversation, budget } = deps;
  const logger = conversation.logger.child({ tool: tool.name });
  const started = performance.now();
  const ended = (outcome: ToolCallOutcome, error?: unknown) =>
    deps.hooks?.ended?.({ tool, outcome, seconds: (performance.now() - started) / 1000, error });
  const validated = validateInput(tool.name, inputFor(tool, conversation.backend), rawArgs);
  if (!validated.ok) {
    logger.info({ outcome: 'invalid_input' }, 'tool call rejected');
    ended('invalid_input');
    return { content: [{ type: 'text', text: validated.message }], isError: true };
  }
  const args = validated.value;
  const explicitSandbox = typeof args.sandbox_id === 'string' ? args.sandbox_id : undefined;
  // Clients give up on silent calls after 60 s or so, whatever the tool's own timeout: a caller that
  // asked for progress gets the newest output and keepalives until the call ends.
  const progress = startProgress(tool.name, mcp, deps.progressIntervalMs === undefined ? {} : { keepaliveMs: deps.progressIntervalMs });
  try {
    conversation.assertActive();
    const out = await tool.handle({ conversation, logger, budget, call: { signal: mcp.mcpReq.signal }, mcp, readOnly: deps.readOnly === true, progress: progress.reporter }, args);
    // Changes to the conversation (current sandbox, detach, expiry) are saved before the result
    // goes out: the caller's next request may land on another replica. A failure is logged; the
    // action itself happened, so the result stands.
    await conversation.flush().catch((error: unknown) => logger.warn({ err: String(error) }, 'conversation change not saved'));
    conversation.notices.callOutcome(undefined);
    const content: ContentBlock[] = [];
    if (out.text !== '') content.push({ type: 'text', text: out.text });
    if (out.content) content.push(...out.content);
    const result: CallToolResult = { content };
    if (out.isError) result.isError = true;
    else if (tool.output) result.structuredContent = tool.output.parse(out.structured);
    logger.info({ sandbox_id: explicitSandbox ?? conversation.currentSandboxId, ms: Math.round(performance.now() - started), outcome: out.isError ? 'error' : 'ok' }, 'tool call');
    ended(out.isError ? 'error' : 'ok');
    return result;
  } catch (err) {
    const ms = Math.round(performance.now() - started);
    // A network failure may mean the backend is gone: the client's log hears of it (and of its return).
    conversation.notices.callOutcome(err);
    if (isKnownError(err)) {
      const name = (err as Error).name;
      // With no backend the whole explanation was logged once at startup; each call logs only its name.
      const message = name === 'BackendUnavailableError' ? undefined : redactSecrets((err as Error).message);
      logger.info({ ms, outcome: 'error', error: name, message }, 'tool call failed');
      ended('error', err);
    } else {
      logger.error({ ms, err }, 'tool call failed unexpectedly');
      ended('failed', err);
    }
    return toToolError(err);
  } finally {
    progress.stop();
  }
}
