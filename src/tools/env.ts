import { z } from 'zod';
import { MASKED_VALUE } from '../client/env.js';
import { defineSandboxTool, type SandboxToolContext, type ToolDefinition } from './tool.js';
import { ENV_NAME, ENV_VARS } from './params.js';
import { cutMiddle } from '../text/cut.js';
import { allocate, looksSecret, maskValue } from './result.js';

const NAME = ENV_NAME;

const sandboxGetEnv = defineSandboxTool({
  name: 'sandbox_get_env',
  title: 'Get env vars',
  description: 'Environment variables of the sandbox; secret-looking ones (TOKEN, KEY...) masked unless reveal_secrets.',
  toolset: 'env',
  kind: 'read',
  input: z.strictObject({
    reveal_secrets: z.boolean().default(false).describe('Show secret values too; they enter the transcript.'),
  }),
  output: z.object({
    sandbox_id: z.string(),
    variables: z.record(z.string(), z.string()),
    masked: z.array(z.string()),
  }),
  async handle(ctx, args) {
    const all = await ctx.agent.env.getAll(ctx.call);
    // The HopX agent itself masks secret-looking values in GET /env; when the caller asks for
    // them, read the real values from the sandbox's environment instead.
    const agentMasked = Object.keys(all).filter((k) => all[k] === MASKED_VALUE && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
    if (args.reveal_secrets && agentMasked.length > 0) Object.assign(all, await readFromShell(ctx, agentMasked));
    const variables: Record<string, string> = {};
    const masked: string[] = [];
    for (const name of Object.keys(all).sort()) {
      if (all[name] === MASKED_VALUE) {
        variables[name] = MASKED_VALUE;
        masked.push(name);
      } else if (!args.reveal_secrets && looksSecret(name)) {
        variables[name] = maskValue(all[name]);
        masked.push(name);
      } else {
        variables[name] = all[name];
      }
    }
    // The values share the output budget (structuredContent carries them too): long ones are cut.
    const names = Object.keys(variables);
    const room = Math.max(0, ctx.budget.textChars - names.reduce((n, k) => n + k.length + 2, 0));
    const shares = allocate(names.map((k) => variables[k].length), room);
    names.forEach((k, i) => {
      const v = variables[k];
      if (v.length > shares[i]) variables[k] = cutMiddle(v, { maxChars: Math.max(shares[i], 200) }, { label: k, where: `$${k} in the sandbox` }).text;
    });
    const lines = Object.entries(variables).map(([k, v]) => `${k}=${v}`);
    const body = lines.join('\n');
    const note = masked.length > 0 ? `\n(${masked.length} secret-looking value${masked.length === 1 ? '' : 's'} masked; pass reveal_secrets: true to see them)` : '';
    return {
      text: lines.length === 0 ? `No environment variables set in sandbox ${ctx.sandboxId}.` : `Environment of sandbox ${ctx.sandboxId}:\n${body}${note}`,
      structured: { sandbox_id: ctx.sandboxId, variables, masked },
    };
  },
});

/** Values of the named variables as the sandbox's shell sees them (NUL-separated, so any value survives). */
async function readFromShell(ctx: SandboxToolContext, names: string[]): Promise<Record<string, string>> {
  const r = await ctx.agent.commands.run({ command: `for n in ${names.join(' ')}; do printf '%s\\0' "\${!n}"; done`, timeoutSeconds: 30 }, ctx.call);
  const values = r.stdout.split('\0');
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    if (r.exitCode === 0 && values[i] !== undefined) out[n] = values[i];
  });
  return out;
}

const sandboxSetEnv = defineSandboxTool({
  name: 'sandbox_set_env',
  title: 'Set env vars',
  description: 'Set environment variables in the sandbox for later runs and commands.',
  toolset: 'env',
  kind: 'write',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({
    variables: ENV_VARS.describe('e.g. {"DEBUG": "1"}'),
    mode: z.enum(['merge', 'replace']).default('merge').describe('"replace" removes every variable not given.'),
  }),
  output: z.object({ sandbox_id: z.string(), mode: z.enum(['merge', 'replace']), names: z.array(z.string()) }),
  async handle(ctx, args) {
    if (args.mode === 'replace') await ctx.agent.env.replace(args.variables, ctx.call);
    else await ctx.agent.env.merge(args.variables, ctx.call);
    const names = Object.keys(args.variables).sort();
    // Values are never echoed: they may be secrets.
    return {
      text: `${args.mode === 'replace' ? 'Replaced the environment with' : 'Set'} ${names.length} variable${names.length === 1 ? '' : 's'} in sandbox ${ctx.sandboxId}: ${names.join(', ') || '(none)'}.`,
      structured: { sandbox_id: ctx.sandboxId, mode: args.mode, names },
    };
  },
});

const sandboxDeleteEnv = defineSandboxTool({
  name: 'sandbox_delete_env',
  title: 'Delete env var',
  description: 'Remove one environment variable from the sandbox.',
  toolset: 'env',
  kind: 'destructive',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({ name: NAME.describe('e.g. "DEBUG"') }),
  output: z.object({ sandbox_id: z.string(), name: z.string() }),
  async handle(ctx, args) {
    await ctx.agent.env.delete(args.name, ctx.call);
    // The agent answers the same whether or not it was set, so say what is known to be true.
    return { text: `${args.name} is no longer set in the environment of sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId, name: args.name } };
  },
});

const tools: ToolDefinition[] = [sandboxGetEnv, sandboxSetEnv, sandboxDeleteEnv];
export default tools;
