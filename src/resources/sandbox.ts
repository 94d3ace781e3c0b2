/** A sandbox's info (status, template, expiry); watchable. */
import { sandboxUri } from '../conversation/uris.js';
import { summarize } from '../views/sandbox.js';
import { defineSandboxResource, jsonContents, type ResourceDefinition } from './resource.js';

const sandboxInfo = defineSandboxResource({
  name: 'sandbox',
  uri: 'hopx://sandboxes/{sandbox_id}',
  title: 'Sandbox info',
  description: 'Status, template, region and expiry of a sandbox',
  mimeType: 'application/json',
  list: ({ conversation }) =>
    conversation.attachedSandboxes().map((s) => ({
      uri: sandboxUri(s.id),
      name: `sandbox ${s.id}`,
      mimeType: 'application/json',
      description: `${s.origin === 'created' ? 'Created' : 'Connected'} in this conversation${conversation.currentSandboxId === s.id ? ' (current)' : ''}`,
    })),
  read: async ({ conversation, sandboxId, signal }, _variables, href) => {
    const info = await conversation.client.sandboxes.get(sandboxId, { signal });
    conversation.noteExpiry(sandboxId, info.expiresAt);
    return jsonContents(href, summarize(info, conversation));
  },
  // Its status and expiry, polled.
  watch: ({ sandbox_id }) => ({ kind: 'sandbox', sandboxId: sandbox_id }),
});

const resources: ResourceDefinition[] = [sandboxInfo];
export default resources;
