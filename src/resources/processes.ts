/** A background process's status and latest output; watchable. */
import { processUri } from '../conversation/uris.js';
import { ResourceMissingError } from '../errors.js';
import { defineSandboxResource, jsonContents, type ResourceDefinition } from './resource.js';

const sandboxProcess = defineSandboxResource({
  name: 'sandbox-process',
  uri: 'hopx://sandboxes/{sandbox_id}/processes/{process_id}',
  title: 'Background process',
  description: 'Status, exit code and latest output (head and tail) of a background process; subscribe to hear when they change',
  mimeType: 'application/json',
  read: async ({ sandboxId, agent, signal }, { process_id }) => {
    const p = (await agent.processes.list({ signal })).find((x) => x.processId === process_id);
    if (!p) throw new ResourceMissingError(`No background process "${process_id}" in sandbox ${sandboxId}; sandbox_list_processes shows them.`);
    return jsonContents(processUri(sandboxId, process_id), {
      process_id: p.processId,
      name: p.name,
      status: p.status,
      exit_code: p.exitCode,
      started_at: p.startedAt,
      ended_at: p.endedAt,
      stdout: p.stdout,
      stderr: p.stderr,
    });
  },
  // Its status and output, polled until it ends.
  watch: ({ sandbox_id, process_id }) => ({ kind: 'process', sandboxId: sandbox_id, processId: process_id }),
});

const resources: ResourceDefinition[] = [sandboxProcess];
export default resources;
