/**
 * Resource definitions (docs/conventions.md convention 6): like a tool, each resource is one
 * definition with a fixed shape (name, URI or URI template, title, description, MIME type, read
 * handler; optionally a listing, completions and what a subscription watches), and one seam
 * registers them all (src/resources/index.ts). A sandbox-scoped variant resolves the sandbox
 * before the handler runs, as defineSandboxTool does for tools.
 */
import type { ReadResourceResult, Resource, Variables } from '@modelcontextprotocol/server';
import type { SandboxAgent } from '../client/types.js';
import type { Conversation } from '../conversation/conversation.js';
import type { WatchTarget } from '../conversation/watches.js';

/** A URI's template variables, one value each, percent-decoding undone ('' when absent). */
export type UriVariables = Readonly<Record<string, string>>;

export interface ResourceContext {
  conversation: Conversation;
  /** The server runs read-only: a read must not extend a sandbox's lease (a PUT on HopX) either. */
  readOnly: boolean;
  /** The MCP request's abort signal: pass it to every client call. */
  signal: AbortSignal;
}

export interface SandboxResourceContext extends ResourceContext {
  sandboxId: string;
  agent: SandboxAgent;
}

/** Suggests values for one template variable; `filled` holds the variables given so far, as sent. */
type Completer = (conversation: Conversation, value: string, filled: Readonly<Record<string, string>>) => string[] | Promise<string[]>;

interface ResourceMeta {
  /** The registration name (`sandbox-file`). */
  name: string;
  /** A fixed URI (`hopx://templates`) or an RFC 6570 template (`hopx://sandboxes/{sandbox_id}/metrics`). */
  uri: string;
  /** A short label for UIs. */
  title: string;
  description: string;
  /** Set when every read has this type; a file says its own on each read. */
  mimeType?: string;
  /** Completion of template variables (a sandbox resource completes `sandbox_id` by itself). */
  complete?: Readonly<Record<string, Completer>>;
  /** Entries for resources/list (templates only: a fixed URI is listed as itself). */
  list?: (ctx: ResourceContext) => Resource[] | Promise<Resource[]>;
  /**
   * What a subscription to one of its URIs watches (src/conversation/watches.ts), or null when that
   * URI cannot be watched. Without it the resource cannot be subscribed.
   */
  watch?: (variables: UriVariables) => WatchTarget | null;
}

export interface ResourceDefinition extends ResourceMeta {
  /** `href`: the URI that was asked for. */
  read: (ctx: ResourceContext, variables: UriVariables, href: string) => Promise<ReadResourceResult>;
}

interface SandboxResourceSpec extends ResourceMeta {
  read: (ctx: SandboxResourceContext, variables: UriVariables, href: string) => Promise<ReadResourceResult>;
}

export function defineResource(spec: ResourceDefinition): ResourceDefinition {
  return spec;
}

/** Up to this many suggestions per completion request. */
export const MAX_COMPLETIONS = 50;
/** Completions and listings are for people typing: a slow agent gets no answer rather than a stall. */
export const INTERACTIVE_TIMEOUT_MS = 5_000;

/** `sandbox_id` completes to the conversation's own sandboxes. */
const completeSandboxId: Completer = (conversation, value) =>
  conversation
    .attachedSandboxes()
    .map((s) => s.id)
    .filter((id) => id.startsWith(value))
    .slice(0, MAX_COMPLETIONS);

/**
 * A resource of one sandbox: its template has `{sandbox_id}`. The read resolves it (the variable,
 * else the conversation's current sandbox), refuses sandboxes the conversation neither created nor
 * connected, and hands the handler the sandbox's agent; `sandbox_id` completes to the
 * conversation's sandboxes.
 */
export function defineSandboxResource(spec: SandboxResourceSpec): ResourceDefinition {
  if (!spec.uri.includes('{sandbox_id}')) throw new Error(`${spec.name}: a sandbox resource's URI template has {sandbox_id}`);
  return {
    ...spec,
    complete: { sandbox_id: completeSandboxId, ...spec.complete },
    read(ctx, variables, href) {
      const sandboxId = ctx.conversation.resolveSandbox(variables.sandbox_id);
      return spec.read({ ...ctx, sandboxId, agent: ctx.conversation.client.agent(sandboxId) }, variables, href);
    },
  };
}

/** Template variables with percent-decoding undone, one value each. */
export function decodeVariables(variables: Variables): UriVariables {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(variables)) {
    const raw = Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
    try {
      out[name] = decodeURIComponent(raw);
    } catch {
      out[name] = raw;
    }
  }
  return out;
}

/** JSON contents for one URI. */
export function jsonContents(uri: string, value: unknown): ReadResourceResult {
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}
