/** A sandbox's metrics: CPU, memory, disk, processes. */
import { metricsUri } from '../conversation/uris.js';
import { metricsView } from '../views/metrics.js';
import { defineSandboxResource, jsonContents, type ResourceDefinition } from './resource.js';

const sandboxMetrics = defineSandboxResource({
  name: 'sandbox-metrics',
  uri: 'hopx://sandboxes/{sandbox_id}/metrics',
  title: 'Sandbox metrics',
  description: 'CPU, memory, disk and process counts of a sandbox',
  mimeType: 'application/json',
  list: ({ conversation }) =>
    conversation.attachedSandboxes().map((s) => ({ uri: metricsUri(s.id), name: `metrics of ${s.id}`, mimeType: 'application/json' })),
  read: async ({ sandboxId, agent, signal }, _variables, href) => jsonContents(href, metricsView(sandboxId, await agent.metrics({ signal }))),
});

const resources: ResourceDefinition[] = [sandboxMetrics];
export default resources;
