/**
 * Input validation with messages a model can act on. The SDK's own message is a raw list of zod
 * issues ("Input validation error: Invalid arguments for tool X: code: Invalid input: expected
 * string, received undefined"); we validate in the registration seam instead and name the field,
 * what was wrong, and what the field wants (its description).
 */
import { z } from 'zod';

type AnyObject = z.ZodObject<z.ZodRawShape>;

export type Validated = { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

export function validateInput(toolName: string, schema: AnyObject, args: unknown): Validated {
  if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
    return { ok: false, message: `Invalid arguments for ${toolName}: arguments must be a JSON object.` };
  }
  // Models often send null for an optional parameter they mean to leave out; no parameter here
  // takes null, so treat it as absent (a required one then reports as missing).
  const cleaned = Object.fromEntries(Object.entries((args ?? {}) as Record<string, unknown>).filter(([, v]) => v !== null));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return { ok: true, value: parsed.data };
  let issues = parsed.error.issues;
  // A misnamed parameter ("env" for "variables", "timeout" for "timeout_seconds") shows up as an
  // unknown key plus a missing required one: say it once, as a rename.
  const unknown = issues.find((i) => i.code === 'unrecognized_keys');
  const isMissing = (i: z.core.$ZodIssue) => i.code === 'invalid_type' && i.path.length === 1 && valueAt(cleaned, i.path) === undefined;
  const missing = issues.filter(isMissing).map((i) => String(i.path[0]));
  const renames = unknown ? suggestRenames(unknown.keys, Object.keys(schema.shape), missing) : new Map<string, string>();
  const renamedTo = new Set(renames.values());
  issues = issues.filter((i) => !(isMissing(i) && renamedTo.has(String(i.path[0]))));
  // The unknown name is usually the cause of the rest; it goes first.
  issues = [...issues.filter((i) => i.code === 'unrecognized_keys'), ...issues.filter((i) => i.code !== 'unrecognized_keys')];
  const parts = issues.slice(0, 5).map((issue) => describeIssue(schema, issue, args, renames));
  return { ok: false, message: `Invalid arguments for ${toolName}: ${parts.join(' ')}` };
}

/**
 * For each unknown key, the known parameter it most likely meant: a missing required one when
 * exactly one key and one parameter are off, else a close spelling or a name containing it.
 */
function suggestRenames(unknown: readonly string[], known: string[], missing: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (unknown.length === 1 && missing.length === 1) return out.set(unknown[0], missing[0]);
  for (const key of unknown) {
    const k = key.toLowerCase().replace(/[-\s]/g, '_');
    const alias = ALIASES[k]?.find((n) => known.includes(n));
    const match =
      alias ??
      known.find((n) => n === k || n.replace(/_/g, '') === k.replace(/_/g, '')) ??
      known.find((n) => editDistance(n, k) <= 2) ??
      known.find((n) => k.length >= 4 && (n.startsWith(`${k}_`) || n.endsWith(`_${k}`)));
    if (match) out.set(key, match);
  }
  return out;
}

/** Names other tools and SDKs use for our parameters. */
const ALIASES: Record<string, string[]> = {
  cmd: ['command'],
  cwd: ['working_dir'],
  workdir: ['working_dir'],
  dir: ['working_dir', 'path'],
  lang: ['language'],
  environment: ['env', 'env_vars', 'variables'],
  envs: ['env', 'env_vars', 'variables'],
  env_vars: ['env', 'variables'],
  env: ['env_vars', 'variables'],
  id: ['sandbox_id', 'process_id'],
  pid: ['process_id'],
  text: ['content', 'code'],
  data: ['content'],
  file: ['path'],
  filename: ['path'],
};

/** Edit distance counting an adjacent swap ("langauge") as one edit; 3 means "far". */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Parameters whose values are environment variables (possibly secrets). */
const SECRET_VALUED = new Set(['env', 'env_vars', 'variables']);

function describeIssue(schema: AnyObject, issue: z.core.$ZodIssue, args: unknown, renames: Map<string, string>): string {
  const field = issue.path.map(String).join('.') || '(arguments)';
  const top = String(issue.path[0] ?? '');
  const fieldSchema = (schema.shape as Record<string, z.ZodType | undefined>)[top];
  const wants = fieldSchema?.description ? ` Expected "${top}": ${fieldSchema.description}` : '';
  const given = valueAt(args, issue.path);

  switch (issue.code) {
    case 'invalid_type': {
      // A JSON caller knows objects, not zod's records.
      const expected = issue.expected === 'record' ? 'object' : issue.expected;
      if (given === undefined) return `"${field}" is required (${expected}).${wants}`;
      // Values of environment parameters may be secrets: say what was sent, not what it said.
      return `"${field}" must be ${article(expected)}, got ${SECRET_VALUED.has(top) ? sizeOf(given) : typeName(given)}.${wants}`;
    }
    case 'invalid_value':
      return `"${field}" must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(given)}.`;
    case 'unrecognized_keys': {
      const known = Object.keys(schema.shape).map((k) => `"${k}"`).join(', ');
      const named = issue.keys.map((k) => (renames.has(k) ? `"${k}" (did you mean "${renames.get(k)}"?)` : `"${k}"`)).join(', ');
      return `Unknown parameter${issue.keys.length > 1 ? 's' : ''} ${named}; this tool takes ${known}.`;
    }
    case 'too_big':
      return `"${field}" must be at most ${String(issue.maximum)}${issue.origin === 'string' ? chars(issue.maximum) : ''}, got ${sizeOf(given)}.${wants}`;
    case 'too_small':
      return `"${field}" must be at least ${String(issue.minimum)}${issue.origin === 'string' ? chars(issue.minimum) : ''}, got ${sizeOf(given)}.${wants}`;
    case 'invalid_key': {
      const inner = issue.issues[0]?.message ?? 'not allowed';
      const key = String(issue.path[issue.path.length - 1] ?? '');
      const parent = issue.path.slice(0, -1).map(String).join('.') || '(arguments)';
      return `"${parent}" has an invalid name ${JSON.stringify(key)}: ${inner}.${wants}`;
    }
    case 'invalid_format':
      // Regex checks carry their own message ("must be an absolute path ...").
      if (issue.format === 'regex') return `"${field}" ${issue.message}, got ${preview(given)}.${wants}`;
      return `"${field}" is not a valid ${issue.format}.${wants}`;
    default:
      return `"${field}": ${issue.message}.${wants}`;
  }
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `${article(typeof v)} (${preview(v)})`;
}

/**
 * A string's length, never its text: the value may be a secret (an env value, a token) and the
 * message goes into the result. Other values are shown as they are.
 */
function sizeOf(v: unknown): string {
  if (typeof v === 'string') return `a string of ${v.length} character${v.length === 1 ? '' : 's'}`;
  if (Array.isArray(v)) return `${v.length} items`;
  return preview(v);
}

function chars(n: unknown): string {
  return Number(n) === 1 ? ' character long' : ' characters long';
}

function preview(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : JSON.stringify(v);
  return s === undefined ? String(v) : s;
}

function article(t: string): string {
  return /^[aeiou]/i.test(t) ? `an ${t}` : `a ${t}`;
}

