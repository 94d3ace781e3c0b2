/**
 * Interactive terminals: for programs that one-shot commands cannot drive (a REPL, a prompt that
 * asks y/n, `top`, a debugger). Each call returns the rendered screen plus the output since the
 * previous call.
 */
import { z } from 'zod';
import { ToolInputError } from '../errors.js';
import { UnknownKeyError, type TerminalView } from '../conversation/terminal-session.js';
import { KEY_NAMES_HELP } from '../conversation/terminal-keys.js';
import { TerminalLimitError, UnknownTerminalError } from '../conversation/terminals.js';
import { defineSandboxTool, defineTool, type ToolContext, type ToolDefinition } from './tool.js';
import { cutMiddle } from '../text/cut.js';

const TERMINAL_ID = z.string().min(1).max(64).describe('From sandbox_terminal_start.');
const TIMEOUT = z.number().positive().max(600).optional().describe('Longest wait in seconds. Default 10.');

const VIEW = z.object({
  terminal_id: z.string(),
  sandbox_id: z.string(),
  screen: z.string(),
  output: z.string().describe('New since the last call, escape sequences removed'),
  cursor: z.object({ row: z.number(), col: z.number() }),
  exited: z.boolean(),
  exit_code: z.number().nullable(),
  waited: z.enum(['quiet', 'text', 'exit', 'timeout', 'cancelled']),
});

const WAITED_TEXT: Record<TerminalView['waited'], string> = {
  quiet: 'output went quiet',
  text: 'the awaited text appeared',
  exit: 'the program ended',
  timeout: 'timed out',
  cancelled: 'cancelled',
};

function lookup(ctx: ToolContext, terminalId: string) {
  try {
    return ctx.conversation.terminals.get(terminalId);
  } catch (err) {
    if (err instanceof UnknownTerminalError) {
      const closed = ctx.conversation.terminals.wasClosed(terminalId);
      const open = err.open.length > 0 ? ` Open terminals: ${err.open.join(', ')}.` : '';
      throw new ToolInputError(
        closed
          ? `Terminal "${terminalId}" was closed. Start a new one with sandbox_terminal_start.${open}`
          : `No terminal "${terminalId}" in this conversation. Start one with sandbox_terminal_start.${open}`,
        'terminal_id',
      );
    }
    throw err;
  }
}

/** Screen first (what a person would look at), then the new output within the budget. */
function render(view: TerminalView, budgetChars: number) {
  const screenChars = Math.min(view.screen.length, Math.floor(budgetChars / 2));
  const screen = view.screen.slice(-screenChars);
  let output = view.output;
  if (view.outputDroppedChars > 0) output = `… [${view.outputDroppedChars} characters of output dropped between reads] …\n${output}`;
  output = cutMiddle(output, { maxChars: Math.max(400, budgetChars - screen.length) }, { label: 'terminal output', where: null }).text;
  const state = view.exited ? `ended (exit ${view.exitCode ?? 'unknown'})` : WAITED_TEXT[view.waited];
  const header = `Terminal ${view.terminalId} in sandbox ${view.sandboxId}, ${view.cols}x${view.rows}: ${state}.`;
  const sections = [header];
  if (output.trim() !== '') sections.push(`--- new output ---\n${output.replace(/\n$/, '')}`);
  sections.push(`--- screen (cursor row ${view.cursor.row + 1}, col ${view.cursor.col + 1}) ---\n${screen}`);
  if (view.exited) sections.push('The terminal has ended; close it with sandbox_terminal_close.');
  return {
    text: sections.join('\n'),
    structured: {
      terminal_id: view.terminalId,
      sandbox_id: view.sandboxId,
      screen,
      output,
      cursor: view.cursor,
      exited: view.exited,
      exit_code: view.exitCode,
      waited: view.waited,
    },
  };
}

const sandboxTerminalStart = defineSandboxTool({
  name: 'sandbox_terminal_start',
  title: 'Start terminal',
  description:
    'Open an interactive terminal in the sandbox (a shell, or `command`) for programs that need a keyboard: REPLs, prompts, top, debuggers. ' +
    'Returns a terminal_id for sandbox_terminal_send, and the first screen.',
  toolset: 'terminal',
  kind: 'write',
  input: z.strictObject({
    command: z.string().min(1).max(4096).optional().describe('Program to run instead of a shell, e.g. "python3"; the terminal ends with it.'),
    cols: z.number().int().min(20).max(400).default(120).describe('Width.'),
    rows: z.number().int().min(5).max(200).default(32).describe('Height.'),
  }),
  output: VIEW,
  async handle(ctx, args) {
    let terminal;
    try {
      terminal = await ctx.conversation.terminals.start(ctx.agent, { cols: args.cols, rows: args.rows }, args.command, ctx.call);
    } catch (err) {
      if (err instanceof TerminalLimitError) {
        throw new ToolInputError(`${err.message} Close one with sandbox_terminal_close first.`, 'terminal_id');
      }
      throw err;
    }
    if (ctx.call.signal?.aborted) {
      ctx.conversation.terminals.close(terminal.id);
      return { text: 'Cancelled; the terminal was closed.', isError: true };
    }
    const view = await terminal.waitAndRead({ timeoutMs: 10_000, signal: ctx.call.signal });
    return render(view, ctx.budget.textChars);
  },
});

const sandboxTerminalSend = defineTool({
  name: 'sandbox_terminal_send',
  title: 'Send to terminal',
  description:
    'Type `text` and/or press `keys` in a sandbox terminal, then wait until output is quiet, `wait_for` text appears, or the timeout; ' +
    'returns the rendered screen and the new output. Send nothing to just read. Enter is a key: text "ls" with keys ["Enter"].',
  toolset: 'terminal',
  kind: 'write',
  input: z.strictObject({
    terminal_id: TERMINAL_ID,
    text: z.string().max(65_536).optional().describe('Characters to type, as is.'),
    keys: z
      .array(z.string().min(1).max(32))
      .max(64)
      .optional()
      .describe('Pressed after the text: Enter, Tab, Up, Ctrl-C, Escape, F1…'),
    wait_for: z.string().min(1).max(1000).optional().describe('Return once this text appears (plain text, not a regex).'),
    timeout_seconds: TIMEOUT,
  }),
  output: VIEW,
  async handle(ctx, args) {
    const terminal = lookup(ctx, args.terminal_id);
    try {
      terminal.send(args.text, args.keys);
    } catch (err) {
      if (err instanceof UnknownKeyError) throw new ToolInputError(`keys: unknown key "${err.key}". Known keys: ${KEY_NAMES_HELP}.`, 'keys');
      throw err;
    }
    const view = await terminal.waitAndRead({
      waitFor: args.wait_for,
      readOnly: (args.text ?? '') === '' && (args.keys ?? []).length === 0,
      timeoutMs: (args.timeout_seconds ?? 10) * 1000,
      signal: ctx.call.signal,
    });
    if (!view.exited) ctx.conversation.noteActivity(view.sandboxId);
    return render(view, ctx.budget.textChars);
  },
});

const sandboxTerminalClose = defineTool({
  name: 'sandbox_terminal_close',
  title: 'Close terminal',
  description: 'Close a sandbox terminal and end the program running in it.',
  toolset: 'terminal',
  kind: 'destructive',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({ terminal_id: TERMINAL_ID }),
  output: z.object({ terminal_id: z.string(), closed: z.boolean() }),
  async handle(ctx, args) {
    if (ctx.conversation.terminals.wasClosed(args.terminal_id)) {
      return { text: `Terminal ${args.terminal_id} was already closed.`, structured: { terminal_id: args.terminal_id, closed: false } };
    }
    lookup(ctx, args.terminal_id);
    ctx.conversation.terminals.close(args.terminal_id);
    return { text: `Closed terminal ${args.terminal_id}.`, structured: { terminal_id: args.terminal_id, closed: true } };
  },
});

const tools: ToolDefinition[] = [sandboxTerminalStart, sandboxTerminalSend, sandboxTerminalClose];
export default tools;
