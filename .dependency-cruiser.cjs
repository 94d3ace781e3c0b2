/**
 * The layers of hopx-mcp, enforced by `npm run lint` (dependency-cruiser); docs/conventions.md
 * convention 7 says the same in prose.
 *
 * From the top down (a layer may import those below it, never those above):
 *
 *   cli.ts, index.ts
 *   transports/, config.ts  stdio and HTTP; the HTTP server composes hosting/ around MCP
 *   hosting/                what a hosted HTTP server adds: caller limits, metrics, readiness
 *   server.ts               one McpServer per conversation
 *   tools/
 *   resources/
 *   views/                  what tools and resources both render
 *   conversation/           the conversation, its kept outputs, hopx:// URIs
 *   errors.ts               the MCP layer's errors and the one error → advice table
 *   state/                  where hosted state lives (memory or Redis)
 *   auth/                   who the caller is (bearer token, OAuth) and what its scopes allow
 *   client/                 the HopX client           local/   the local HopX-compatible backend
 *   text/, http/, log.ts    leaves, importable from everywhere
 *
 * client/ and local/ are two separate worlds that meet only on the wire: the local backend
 * speaks HopX's HTTP API and the client talks to it like to HopX cloud.
 */
/**
 * The MCP side's layers, top first, as drawn above: each may import its own layer and those after
 * it, nothing before it (one rule per layer, made below).
 */
const LAYERS = [
  ['entry', '^src/(cli|index)\\.ts$'],
  ['transports', '^src/transports/|^src/config\\.ts$'],
  ['hosting', '^src/hosting/'],
  ['server', '^src/server\\.ts$'],
  ['tools', '^src/tools/'],
  ['resources', '^src/resources/'],
  ['views', '^src/views/'],
  ['conversation', '^src/conversation/'],
  ['errors', '^src/errors\\.ts$'],
  ['state', '^src/state/'],
  ['auth', '^src/auth/'],
];
const MCP_LAYERS = LAYERS.map(([, path]) => path);
/**
 * The one place a circle closed only by `import type` is still allowed: the local agent's
 * AgentContext names the services (background jobs, Go cache, desktop) whose modules take it.
 */
const TYPE_CIRCLES_ALLOWED = '^src/local/server/agent/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import circles make load order matter and layers meaningless; move the shared part down. ' +
        'Circles of types only too: they tie the modules together just the same.',
      from: { pathNot: TYPE_CIRCLES_ALLOWED },
      to: { circular: true },
    },
    {
      name: 'no-circular-agent',
      severity: 'error',
      comment: 'In the local agent, a circle closed only by `import type` (through AgentContext) is allowed.',
      from: { path: TYPE_CIRCLES_ALLOWED },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment: 'The HopX client knows nothing of MCP, conversations or the local backend (it names no tool).',
      from: { path: '^src/client/' },
      to: { path: [...MCP_LAYERS, '^src/local/'] },
    },
    {
      name: 'local-stands-alone',
      severity: 'error',
      comment: 'The local backend is reached over HTTP only; it imports nothing of the client or the MCP layers.',
      from: { path: '^src/local/' },
      to: { path: [...MCP_LAYERS, '^src/client/'] },
    },
    {
      name: 'local-reached-over-http',
      severity: 'error',
      comment:
        'The MCP server talks to the local backend over HTTP, like to HopX cloud: transports/backend.ts starts it, and the ' +
        'entry points (cli.ts, index.ts) offer it as a command and an export; nothing else imports it.',
      from: { path: MCP_LAYERS, pathNot: '^src/transports/backend\\.ts$|^src/(cli|index)\\.ts$' },
      to: { path: '^src/local/' },
    },
    {
      name: 'local-runtime-below-server',
      severity: 'error',
      comment: "The runtime (isolation, host paths) is the only door to the host; the HTTP layer sits on it, never the reverse.",
      from: { path: '^src/local/runtime/' },
      to: { path: '^src/local/(server/|command\\.ts|index\\.ts)' },
    },
    ...LAYERS.slice(1).map(([name, path], i) => ({
      name: `${name}-imports-nothing-above`,
      severity: 'error',
      comment: `${name} sits below ${LAYERS.slice(0, i + 1).map(([above]) => above).join(', ')} (the list at the top of this file); what both need moves down.`,
      from: { path },
      to: { path: LAYERS.slice(0, i + 1).map(([, above]) => above) },
    })),
    {
      name: 'state-below-conversation',
      severity: 'error',
      comment: 'The state store keeps records; it knows nothing of the MCP layers, the client or the local backend.',
      from: { path: '^src/state/' },
      to: { path: [...MCP_LAYERS, '^src/(client|local)/'], pathNot: '^src/state/' },
    },
    {
      name: 'leaves-are-leaves',
      severity: 'error',
      comment: 'src/text/, src/http/ and src/log.ts are importable from everywhere, so they import nothing else of src/ but text/.',
      from: { path: '^src/(text|http)/|^src/log\\.ts$' },
      to: { path: '^src/', pathNot: '^src/text/' },
    },
    {
      name: 'no-tests-from-src',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
    {
      name: 'no-dev-dependencies-in-src',
      severity: 'error',
      comment: 'What src/ imports must be a runtime dependency, or the published package breaks.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
  },
};
