/** Whole outputs that tool results had to cut, kept in the sandbox (src/tools/kept.ts). */
import { KEPT_OUTPUT_DIR, keptOutputPath, outputUri } from '../conversation/uris.js';
import { ResourceMissingError } from '../errors.js';
import { mimeTypeFor } from '../views/file-content.js';
import { readFileResource } from './files.js';
import { defineSandboxResource, INTERACTIVE_TIMEOUT_MS, type ResourceDefinition } from './resource.js';

const sandboxOutput = defineSandboxResource({
  name: 'sandbox-output',
  uri: 'hopx://sandboxes/{sandbox_id}/outputs/{output_id}',
  title: 'Whole tool output',
  description: `The whole output that a tool result cut to fit its budget, kept in the sandbox under ${KEPT_OUTPUT_DIR}`,
  // Kept outputs live in each sandbox's KEPT_OUTPUT_DIR: list what is there now.
  list: async ({ conversation, signal }) => {
    const listed = await Promise.all(
      conversation.attachedSandboxes().map(async (s) => {
        const entries = await conversation.client
          .agent(s.id)
          .files.list(KEPT_OUTPUT_DIR, { signal, timeoutMs: INTERACTIVE_TIMEOUT_MS })
          .catch(() => []);
        return entries
          .filter((e) => !e.isDirectory && keptOutputPath(e.name))
          .map((e) => ({
            uri: outputUri(s.id, e.name),
            name: e.name,
            mimeType: mimeTypeFor(e.name),
            description: `Whole output (${e.size} bytes) that a tool result cut, kept in sandbox ${s.id} at ${KEPT_OUTPUT_DIR}/${e.name}`,
          }));
      }),
    );
    return listed.flat();
  },
  read: (ctx, { output_id }) => {
    const path = keptOutputPath(output_id);
    if (!path) throw new ResourceMissingError(`"${output_id}" is not an output id; take one from a tool result or from resources/list.`);
    return readFileResource(ctx, path, outputUri(ctx.sandboxId, output_id));
  },
});

const resources: ResourceDefinition[] = [sandboxOutput];
export default resources;
