/**
 * What tools/list says about each tool's schemas. Clients send tools/list to the model on every
 * turn, so the advertised JSON Schemas keep what a model or client acts on and drop the rest:
 *
 * - input: types, descriptions, defaults, enums and number bounds stay; string lengths and
 *   patterns go (validation in the registration seam still enforces them, and its message names
 *   the field and the fix, which a schema keyword never does).
 * - output: the top-level fields and their JSON types, plus a description where a field's name
 *   does not say enough; nested structure, `required` and `additionalProperties` go. The result
 *   is looser than the zod schema that shapes structuredContent, so every result validates
 *   against what is advertised. Tools whose result only confirms the action advertise none
 *   (`confirmation` in tool.ts).
 *
 * `$defs`/`$ref` are not used: clients do not reliably resolve them.
 */
type Json = Record<string, unknown>;

const STRING_CONSTRAINTS = ['minLength', 'maxLength', 'pattern', 'format'];

/**
 * The advertised input schema: as zod emits it, minus `$schema` (2020-12 is MCP's default), the
 * top-level `additionalProperties: false` (an unknown parameter gets a "did you mean" answer from
 * validation) and string constraints.
 */
export function leanInputSchema(schema: Json): Json {
  const { $schema: _dialect, additionalProperties: _closed, ...rest } = schema;
  return stripStringConstraints(rest) as Json;
}

function stripStringConstraints(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripStringConstraints);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    // Record keys (environment variable names) are checked by validation, not by the model.
    if (key === 'propertyNames') continue;
    if (STRING_CONSTRAINTS.includes(key) && typeOf(node as Json).includes('string')) continue;
    out[key] = key === 'properties' ? mapValues(value as Json, stripStringConstraints) : stripStringConstraints(value);
  }
  return out;
}

/** Ids a result repeats from its input (other fields of the same name may differ: a template's name). */
const ECHOED_IDS = ['sandbox_id', 'terminal_id', 'process_id', 'path', 'port'];

/**
 * The advertised output schema: top-level fields with their types (and descriptions where given).
 * An id the result only repeats from the input (`sandbox_id`, `path`, ...) is left out: the result
 * still carries it, and the input schema already says what it is.
 */
export function leanOutputSchema(schema: Json, inputNames: readonly string[]): Json {
  const echoed = (name: string) => ECHOED_IDS.includes(name) && inputNames.includes(name);
  const fields = Object.entries((schema.properties ?? {}) as Json).filter(([name]) => !echoed(name));
  return { type: 'object', properties: Object.fromEntries(fields.map(([name, field]) => [name, shallowField(field as Json)])) };
}

function shallowField(field: Json): Json {
  const out: Json = {};
  const types = typeOf(field);
  const enumValues = enumOf(field);
  if (enumValues) out.enum = enumValues;
  else if (types.length === 1) out.type = types[0];
  else if (types.length > 1) out.type = types;
  if (typeof field.description === 'string') out.description = field.description;
  return out;
}

/** The JSON types a field may take, merging zod's `anyOf: [X, {type: "null"}]` for nullable objects. */
function typeOf(field: Json): string[] {
  if (typeof field.type === 'string') return [field.type];
  if (Array.isArray(field.type)) return field.type as string[];
  if (Array.isArray(field.anyOf)) return [...new Set((field.anyOf as Json[]).flatMap(typeOf))];
  return [];
}

/** An enum (possibly nullable) as one list of values. */
function enumOf(field: Json): unknown[] | undefined {
  if (Array.isArray(field.enum)) return field.enum as unknown[];
  if (!Array.isArray(field.anyOf)) return undefined;
  const variants = field.anyOf as Json[];
  if (!variants.every((v) => Array.isArray(v.enum) || v.type === 'null')) return undefined;
  return variants.flatMap((v) => (Array.isArray(v.enum) ? (v.enum as unknown[]) : [null]));
}

function mapValues(record: Json, fn: (value: unknown) => unknown): Json {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
