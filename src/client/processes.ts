/** Agent: background processes and OS processes (docs/hopx-wire.md §5.5, §5.9). */
import type { AgentConnection, AgentRequest } from './agent.js';
import { HopxError, KillNotSupportedError } from './errors.js';
import * as check from './validate.js';
import { asRecord, idString, str, toBackgroundProcessList, toJupyterSessions, toSystemProcessList, type Json } from './wire.js';
import type { BackgroundProcess, CallOptions, JupyterSession, ProcessesApi, SystemProcess } from './types.js';

/** The four kill forms seen across spec, docs and SDKs, in the order we try them. */
function killForms(processId: string): AgentRequest[] {
  const id = encodeURIComponent(processId);
  const context = { operation: 'kill process', resource: 'process' as const, processId };
  return [
    { method: 'DELETE', path: '/execute/kill', query: { process_id: processId }, response: 'json', context },
    { method: 'POST', path: `/execute/kill/${id}`, response: 'json', idempotent: true, context },
    { method: 'POST', path: `/processes/${id}/kill`, response: 'json', idempotent: true, context },
    { method: 'DELETE', path: '/execute/kill', json: { process_id: processId }, response: 'json', context },
  ];
}

/** 405, or a 404 without PROCESS_NOT_FOUND, means "this agent has no such route": try the next form. */
function routeMissing(error: unknown): boolean {
  if (!(error instanceof HopxError)) return false;
  return error.status === 405 || (error.status === 404 && error.code !== 'PROCESS_NOT_FOUND');
}

export class Processes implements ProcessesApi {
  constructor(private readonly conn: AgentConnection) {}

  async list(call: CallOptions = {}): Promise<BackgroundProcess[]> {
    const res = await this.conn.request<unknown>(
      { method: 'GET', path: '/execute/processes', response: 'json', context: { operation: 'list background processes' } },
      call,
    );
    return toBackgroundProcessList(res.data);
  }

  /**
   * Sends `?process_id=` (the local backend answers with that process only; HopX documents no
   * filter, and an agent that ignores it answers with every process) and picks it from the list.
   */
  async get(processId: string, call: CallOptions = {}): Promise<BackgroundProcess | null> {
    const id = check.nonEmptyString(processId, 'processId', '"proc_abc123"');
    const res = await this.conn.request<unknown>(
      { method: 'GET', path: '/execute/processes', query: { process_id: id }, response: 'json', context: { operation: 'read a background process', processId: id } },
      call,
    );
    return toBackgroundProcessList(res.data).find((p) => p.processId === id) ?? null;
  }

  async kill(processId: string, call: CallOptions = {}): Promise<{ processId: string; status: string }> {
    const id = check.nonEmptyString(processId, 'processId', '"proc_abc123"');
    let lastError: unknown;
    for (const form of killForms(id)) {
      try {
        const res = await this.conn.request<Json>(form, call);
        const body = asRecord(res.data);
        return { processId: idString(body.process_id) ?? id, status: str(body.status) ?? 'killed' };
      } catch (error) {
        if (!routeMissing(error)) throw error;
        lastError = error;
      }
    }
    if (lastError instanceof HopxError && lastError.status === 404) throw lastError;
    throw new KillNotSupportedError(
      `The agent of sandbox ${this.conn.sandboxId} accepted none of the four kill request forms for process ${id}.`,
      {
        operation: 'kill process',
        sandboxId: this.conn.sandboxId,
        processId: id,
        ...(lastError instanceof HopxError && lastError.status ? { status: lastError.status } : {}),
        cause: lastError,
      },
    );
  }

  async listSystem(call: CallOptions = {}): Promise<SystemProcess[]> {
    const res = await this.conn.request<unknown>(
      { method: 'GET', path: '/processes', response: 'json', context: { operation: 'list system processes' } },
      call,
    );
    return toSystemProcessList(res.data);
  }

  async jupyterSessions(call: CallOptions = {}): Promise<JupyterSession[]> {
    const res = await this.conn.request<unknown>(
      { method: 'GET', path: '/jupyter/sessions', response: 'json', context: { operation: 'list Jupyter sessions' } },
      call,
    );
    return toJupyterSessions(res.data);
  }
}
