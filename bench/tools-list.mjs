// tools/list size (issue 8 §5): clients send the whole list to the model on every turn. Prints,
// for each backend (their texts differ) and toolset selection, the bytes of the tools/list result
// and of what a model reads first (name + description + inputSchema), against the budgets that
// test/contract/tools.test.ts enforces. Run `npm run build` first (`npm run bench` does).
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The budgets, in bytes of compact JSON (UTF-8), for the default toolsets. */
export const BUDGET = { toolsList: 24_000, nameDescriptionInput: 14_000, offByDefaultToolset: 6_000 };

const bytes = (value) => (value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value)));

/** Sizes of one tools/list result (`tools` as the client received them). */
export function measureToolsList(tools) {
  const sum = (pick) => tools.reduce((n, t) => n + bytes(pick(t)), 0);
  return {
    tools: tools.length,
    toolsList: bytes({ tools }),
    nameDescriptionInput: sum((t) => t.name) + sum((t) => t.description) + sum((t) => t.inputSchema),
    inputSchema: sum((t) => t.inputSchema),
    outputSchema: sum((t) => t.outputSchema),
    description: sum((t) => t.description),
    annotations: sum((t) => t.annotations),
    title: sum((t) => t.title),
  };
}

async function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const load = (path) => import(pathToFileURL(`${root}dist/${path}`).href);
  const [{ Client, InMemoryTransport }, { createHopxMcpServer, TOOLSETS }, { Conversation }, { HopxClient }, { silentLogger }] = await Promise.all([
    import('@modelcontextprotocol/client'),
    load('server.js'),
    load('conversation/conversation.js'),
    load('client/index.js'),
    load('log.js'),
  ]);
  const list = async (backend, options) => {
    // tools/list never reaches the backend: a client pointed nowhere is enough.
    const hopx = new HopxClient({ apiKey: 'unused', baseUrl: 'http://127.0.0.1:9', maxRetries: 0 });
    const conversation = new Conversation({ id: 'bench', client: hopx, backend, logger: silentLogger() });
    const server = createHopxMcpServer(conversation, options);
    const client = new Client({ name: 'bench', version: '1.0.0' });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    const { tools } = await client.listTools();
    const instructions = client.getInstructions() ?? '';
    await client.close();
    await server.close();
    await conversation.end('bench');
    await hopx.close();
    return { ...measureToolsList(tools), instructions: Buffer.byteLength(instructions) };
  };
  const kb = (n) => `${(n / 1000).toFixed(1)} KB`;
  const verdict = (n, max) => `${kb(n)} (budget ${kb(max)}: ${n <= max ? 'OK' : 'OVER'})`;
  console.log('tools/list size, compact JSON');
  for (const backend of ['local', 'cloud']) {
    const d = await list(backend, {});
    const all = await list(backend, { toolsets: [...TOOLSETS] });
    console.log(`  ${backend}, default toolsets: ${d.tools} tools`);
    console.log(`    tools/list                          ${verdict(d.toolsList, BUDGET.toolsList)}`);
    console.log(`    name + description + inputSchema    ${verdict(d.nameDescriptionInput, BUDGET.nameDescriptionInput)}`);
    console.log(
      `    parts: inputSchema ${kb(d.inputSchema)}, outputSchema ${kb(d.outputSchema)}, descriptions ${kb(d.description)}, ` +
        `annotations ${kb(d.annotations)}, titles ${kb(d.title)}; instructions ${kb(d.instructions)}`,
    );
    console.log(`    every toolset: ${all.tools} tools, ${verdict(all.toolsList - d.toolsList, BUDGET.offByDefaultToolset)} more than default`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
