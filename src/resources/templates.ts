/** The template catalogue (what sandbox_create accepts). */
import { defineResource, jsonContents, type ResourceDefinition } from './resource.js';

const templates = defineResource({
  name: 'templates',
  uri: 'hopx://templates',
  title: 'Sandbox templates',
  description: 'Templates available to sandbox_create',
  mimeType: 'application/json',
  read: async ({ conversation, signal }, _variables, href) => {
    const list = await conversation.client.templates.list({}, { signal });
    return jsonContents(href, list.map((t) => ({ id: t.id, name: t.name, display_name: t.displayName, description: t.description, language: t.language })));
  },
});

const resources: ResourceDefinition[] = [templates];
export default resources;
