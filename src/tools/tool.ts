/**
 * Tool definitions (docs/conventions.md conventions 1–3): a fixed shape, annotations derived from `kind`,
 * and a sandbox-scoped variant that resolves the target sandbox before the handler runs.
 */
import { z } from 'zod';
import type { ContentBlock, ServerContext, ToolAnnotations } from '@modelcontextprotocol/server';
import type { CallOptions, SandboxAgent } from '../client/types.js';
import type { Logger } from '../log.js';
import type { BackendKind, Conversation } from '../conversation/conversation.js';
import { SANDBOX_ID } from './params.js';
import type { ProgressReporter } from './progress.js';

export const TOOLSETS = ['sandbox', 'code', 'commands', 'files', 'env', 'preview', 'metrics', 'cache', 'terminal', 'desktop'] as const;
export type Toolset = (typeof TOOLSETS)[number];
/** Toolsets left out unless named (--toolsets desktop, or all): most agents never need a screen. */
export const OFF_BY_DEFAULT: readonly Toolset[] = ['desktop'];

export type { BackendKind };

/** A value that differs by backend: the value itself, or a function of the backend. */
export type PerBackend<T> = T | ((backend: BackendKind) => T);

export function forBackend<T>(value: PerBackend<T>, backend: BackendKind): T {
  return typeof value === 'function' ? (value as (backend: BackendKind) => T)(backend) : value;
}

/** Builds each backend's value once (schemas are rebuilt per server otherwise, i.e. per HTTP request). */
function memoPerBackend<T>(value: PerBackend<T>): PerBackend<T> {
  if (typeof value !== 'function') return value;
  const built = new Map<BackendKind, T>();
  return (backend) => {
    if (!built.has(backend)) built.set(backend, (value as (backend: BackendKind) => T)(backend));
    return built.get(backend)!;
  };
}

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
  /**
   * Live progress for this call: feed it output as it arrives (`lines`) and it goes to the client
   * as progress notifications when the caller asked for them; a no-op otherwise.
   */
  progress: ProgressReporter;
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
  /** A short label for UIs ("Run code"). */
  title: string;
  /** One to three sentences: what it does, when to use it, hard limits. Per backend where they differ. */
  description: PerBackend<string>;
  toolset: Toolset;
  kind: ToolKind;
  /** Calling it twice with the same arguments has the same effect as once. */
  idempotent?: boolean;
  /**
   * The result only confirms the action (stopped, removed, closed): structuredContent is still
   * returned, but no output schema is advertised, to keep tools/list small (issue 8 §5).
   */
  confirmation?: boolean;
}

export interface ToolDefinition extends ToolMeta {
  /** Read it with inputFor(tool, backend): parameter text and defaults may differ by backend. */
  input: PerBackend<AnyObject>;
  output?: AnyObject;
  /** Set by defineSandboxTool: takes `sandbox_id` and acts on one sandbox. */
  sandboxScoped: boolean;
  handle(ctx: ToolContext, args: Record<string, unknown>): Promise<ToolOutput>;
}

interface ToolSpec<I extends AnyObject, O extends AnyObject | undefined, C> extends ToolMeta {
  input: PerBackend<I>;
  output?: O;
  handle(ctx: C, args: z.output<I>): Promise<ToolOutput<StructuredOf<O>>>;
}

export function defineTool<I extends AnyObject, O extends AnyObject | undefined = undefined>(
  spec: ToolSpec<I, O, ToolContext>,
): ToolDefinition {
  return { ...spec, description: memoPerBackend(spec.description), input: memoPerBackend<AnyObject>(spec.input), sandboxScoped: false };
}

/** The tool as the given backend shows it. */
export function descriptionFor(tool: ToolDefinition, backend: BackendKind): string {
  return forBackend(tool.description, backend);
}

export function inputFor(tool: ToolDefinition, backend: BackendKind): AnyObject {
  return forBackend(tool.input, backend);
}

/**
 * A tool that acts inside one sandbox. Adds the optional `sandbox_id` parameter, resolves it (the
 * argument, else the conversation's current sandbox, else a clear error), refuses sandboxes the
 * conversation neither created nor connected, hands the handler the sandbox's agent, and extends
 * the sandbox's lease after a successful call (unless the server is read-only).
 */
export function defineSandboxTool<S extends z.ZodRawShape, O extends AnyObject | undefined = undefined>(
  spec: ToolSpec<z.ZodObject<S>, O, SandboxToolContext>,
): ToolDefinition {
  const withSandboxId = (backend: BackendKind) => z.strictObject({ sandbox_id: SANDBOX_ID, ...forBackend(spec.input, backend).shape }) as unknown as AnyObject;
  return {
    ...spec,
    description: memoPerBackend(spec.description),
    input: memoPerBackend(withSandboxId),
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

/**
 * MCP annotations follow from the kind; nobody writes them by hand. Only hints that differ from
 * the spec's defaults are sent (readOnly false, destructive true, idempotent false, openWorld
 * true; the last three mean nothing for a read-only tool): tools/list goes to the model on every
 * turn. The title is the tool's own `title` field, not repeated here. Undefined = all defaults.
 */
export function annotationsFor(tool: ToolDefinition): ToolAnnotations | undefined {
  if (tool.kind === 'read') return { readOnlyHint: true };
  const hints: ToolAnnotations = {};
  if (tool.kind === 'write') hints.destructiveHint = false;
  if (tool.idempotent) hints.idempotentHint = true;
  return Object.keys(hints).length > 0 ? hints : undefined;
}
