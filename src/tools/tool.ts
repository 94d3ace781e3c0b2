/**
 * Tool definitions (style.md §8 conventions 1–3): a fixed shape, annotations derived from `kind`,
 * and a sandbox-scoped variant that resolves the target sandbox before the handler runs.
 */
import { z } from 'zod';
import type { ContentBlock, ServerContext, ToolAnnotations } from '@modelcontextprotocol/server';
import type { CallOptions, SandboxAgent } from '../client/types.js';
import type { Logger } from '../log.js';
import type { Conversation } from '../conversation/conversation.js';

export const TOOLSETS = ['sandbox', 'code', 'commands', 'files', 'env', 'preview', 'metrics', 'cache', 'terminal'] as const;
export type Toolset = (typeof TOOLSETS)[number];

/** read: changes nothing. write: changes something, recoverably. destructive: deletes or kills. */
type ToolKind = 'read' | 'write' | 'destructive';

export interface OutputBudget {
  /** Characters of command/code/file output per copy (the text block and structuredContent each). */
  textChars: number;
  /** Base64 characters of images inlined in one result; the rest become resource links. */
  imageChars: number;
}

export interface ToolContext {
  conversation: Conversation;
  logger: Logger;
  budget: OutputBudget;
  /** Pass to every client call: carries the MCP request's abort signal. */
  call: CallOptions;
  /** The raw SDK request context (progress, logging); most tools never need it. */
  mcp: ServerContext;
  /** The server runs read-only: nothing on HopX may change, not even a sandbox's expiry. */
  readOnly: boolean;
}

export interface SandboxToolContext extends ToolContext {
  sandboxId: string;
  agent: SandboxAgent;
}

/** What a handler returns; the registration seam turns it into a CallToolResult. */
interface ToolOutput<S = Record<string, unknown>> {
  /** The short text for the model ('' = no text block). */
  text: string;
  /** Required when the tool declares an output schema; parsed through it (extra keys dropped). */
  structured?: S;
  /** Further content after the text: images, resource links, embedded resources. */
  content?: ContentBlock[];
  isError?: boolean;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;
type StructuredOf<O> = O extends AnyObject ? z.input<O> : Record<string, unknown>;

/** What every tool declares about itself, before its schemas and handler. */
interface ToolMeta {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  kind: ToolKind;
  /** Calling it twice with the same arguments has the same effect as once. */
  idempotent?: boolean;
}

export interface ToolDefinition extends ToolMeta {
  input: AnyObject;
  output?: AnyObject;
  /** Set by defineSandboxTool: takes `sandbox_id` and acts on one sandbox. */
  sandboxScoped: boolean;
  handle(ctx: ToolContext, args: Record<string, unknown>): Promise<ToolOutput>;
}

interface ToolSpec<I extends AnyObject, O extends AnyObject | undefined, C> extends ToolMeta {
  input: I;
  output?: O;
  handle(ctx: C, args: z.output<I>): Promise<ToolOutput<StructuredOf<O>>>;
}

export function defineTool<I extends AnyObject, O extends AnyObject | undefined = undefined>(
  spec: ToolSpec<I, O, ToolContext>,
): ToolDefinition {
  return { ...spec, sandboxScoped: false };
}

export const SANDBOX_ID_PARAM = z
  .string()
  .min(1)
  .max(128)
  .optional()
  .describe("Sandbox to act on. Default: this conversation's current sandbox (the last one created or connected).");

/**
 * A tool that acts inside one sandbox. Adds the optional `sandbox_id` parameter, resolves it (the
 * argument, else the conversation's current sandbox, else a clear error), refuses sandboxes the
 * conversation neither created nor connected, hands the handler the sandbox's agent, and extends
 * the sandbox's lease after a successful call (unless the server is read-only).
 */
export function defineSandboxTool<S extends z.ZodRawShape, O extends AnyObject | undefined = undefined>(
  spec: ToolSpec<z.ZodObject<S>, O, SandboxToolContext>,
): ToolDefinition {
  return {
    ...spec,
    input: z.strictObject({ sandbox_id: SANDBOX_ID_PARAM, ...spec.input.shape }),
    sandboxScoped: true,
    async handle(ctx, args) {
      const sandboxId = ctx.conversation.resolveSandbox(args.sandbox_id as string | undefined);
      const agent = ctx.conversation.client.agent(sandboxId);
      const out = await spec.handle({ ...ctx, sandboxId, agent }, args as z.output<z.ZodObject<S>>);
      if (!out.isError && !ctx.readOnly) ctx.conversation.noteActivity(sandboxId);
      return out;
    },
  };
}

/** MCP annotations follow from the kind; nobody writes them by hand. */
export function annotationsFor(tool: ToolDefinition): ToolAnnotations {
  const read = tool.kind === 'read';
  return {
    title: tool.title,
    readOnlyHint: read,
    destructiveHint: tool.kind === 'destructive',
    idempotentHint: read || tool.idempotent === true,
    openWorldHint: true,
  };
}
