/** Control plane: templates and template building (docs/hopx-wire.md §4.10, §4.11). */
import type { ClientContext } from './context.js';
import { ValidationError } from './errors.js';
import * as check from './validate.js';
import {
  toTemplateBuild,
  toTemplateBuildLogs,
  toTemplateBuildStatus,
  toTemplateDeleteResult,
  toTemplateInfo,
  toTemplateList,
  toTemplateUploadLink,
  type Json,
} from './wire.js';
import type {
  CallOptions,
  ListTemplatesOptions,
  TemplateBuild,
  TemplateBuildLogs,
  TemplateBuildRequest,
  TemplateBuildStatus,
  TemplateDeleteResult,
  TemplateInfo,
  TemplatesApi,
  TemplateUploadLink,
  TemplateUploadLinkOptions,
} from './types.js';

/** SDK defaults for a build's resources (docs/hopx-wire.md §4.11). */
const BUILD_DEFAULTS = { cpu: 2, memory: 2048, diskGB: 10 };

export class Templates implements TemplatesApi {
  constructor(private readonly ctx: ClientContext) {}

  async list(options: ListTemplatesOptions = {}, call: CallOptions = {}): Promise<TemplateInfo[]> {
    const res = await this.ctx.control<unknown>(
      {
        method: 'GET',
        path: '/v1/templates',
        query: { category: options.category, language: options.language },
        response: 'json',
        context: { operation: 'list templates', resource: 'other' },
      },
      call,
    );
    return toTemplateList(res.data);
  }

  async get(nameOrId: string, call: CallOptions = {}): Promise<TemplateInfo> {
    const template = check.nonEmptyString(nameOrId, 'template', '"code-interpreter"');
    const res = await this.ctx.control<unknown>(
      {
        method: 'GET',
        path: `/v1/templates/${encodeURIComponent(template)}`,
        response: 'json',
        context: { operation: 'get template', resource: 'template', template },
      },
      call,
    );
    return toTemplateInfo(res.data);
  }

  async delete(templateId: string, call: CallOptions = {}): Promise<TemplateDeleteResult> {
    const template = check.nonEmptyString(templateId, 'templateId', '"291"');
    const res = await this.ctx.control<unknown>(
      {
        method: 'DELETE',
        path: `/v1/templates/${encodeURIComponent(template)}`,
        response: 'json',
        context: { operation: 'delete template', resource: 'template', template },
      },
      call,
    );
    return toTemplateDeleteResult(res.data, template);
  }

  async getUploadLink(options: TemplateUploadLinkOptions, call: CallOptions = {}): Promise<TemplateUploadLink> {
    const opts = asOptions(options, 'getUploadLink', '{ filesHash: "<sha256 hex>", contentLength: 1024 }');
    if (typeof opts.filesHash !== 'string' || !/^[0-9a-f]{64}$/i.test(opts.filesHash)) {
      throw new ValidationError('filesHash must be the SHA-256 of the context tarball as 64 hex digits (sha256sum context.tar.gz).');
    }
    const contentLength = check.positiveInteger(opts.contentLength, 'contentLength');
    const res = await this.ctx.control<unknown>(
      {
        method: 'POST',
        path: '/v1/templates/files/upload-link',
        json: { files_hash: opts.filesHash, content_length: contentLength },
        // Asking for a presigned URL twice creates nothing: safe to retry like a GET.
        idempotent: true,
        response: 'json',
        context: { operation: 'get a template upload link', resource: 'other' },
      },
      call,
    );
    return toTemplateUploadLink(res.data, opts.filesHash);
  }

  /** Never retried: a second POST could start a second build. */
  async build(request: TemplateBuildRequest, call: CallOptions = {}): Promise<TemplateBuild> {
    const res = await this.ctx.control<unknown>(
      {
        method: 'POST',
        path: '/v1/templates/build',
        json: buildBody(request),
        response: 'json',
        context: { operation: 'start a template build', resource: 'other' },
      },
      call,
    );
    return toTemplateBuild(res.data);
  }

  async buildStatus(buildId: string, call: CallOptions = {}): Promise<TemplateBuildStatus> {
    const id = check.nonEmptyString(buildId, 'buildId', '"build_abc123"');
    const res = await this.ctx.control<unknown>(
      {
        method: 'GET',
        path: `/v1/templates/build/${encodeURIComponent(id)}/status`,
        response: 'json',
        context: { operation: `read the status of build ${id}`, resource: 'other' },
      },
      call,
    );
    return toTemplateBuildStatus(res.data, id);
  }

  /** Keyed by template id, not build id, as both SDKs poll it (docs/hopx-wire.md §4.11 step 4). */
  async buildLogs(templateId: string, options: { offset?: number } = {}, call: CallOptions = {}): Promise<TemplateBuildLogs> {
    const id = check.nonEmptyString(templateId, 'templateId', '"291"');
    const offset = asOptions(options, 'buildLogs', '{ offset: 0 }').offset ?? 0;
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ValidationError(`offset must be a whole number ≥ 0 (the offset returned by the previous call); got ${String(offset)}.`);
    }
    const res = await this.ctx.control<unknown>(
      {
        method: 'GET',
        path: `/v1/templates/build/${encodeURIComponent(id)}/logs`,
        query: { offset },
        response: 'json',
        context: { operation: `read the build logs of template ${id}`, resource: 'template', template: id },
      },
      call,
    );
    return toTemplateBuildLogs(res.data, offset);
  }
}

function asOptions<T>(value: T, method: string, example: string): T {
  if (typeof value !== 'object' || value === null) throw new ValidationError(`${method} needs options, e.g. ${example}.`);
  return value;
}

/** The wire body of POST /v1/templates/build: the spellings the OpenAPI file and the JS SDK use. */
function buildBody(request: TemplateBuildRequest): Json {
  const r = asOptions(request, 'build', '{ name: "my-template", fromImage: "python:3.12-slim", steps: [...] }');
  const body: Json = {
    name: check.nonEmptyString(r.name, 'name', '"my-template"'),
    from_image: check.nonEmptyString(r.fromImage, 'fromImage', '"python:3.12-slim"'),
    cpu: r.cpu === undefined ? BUILD_DEFAULTS.cpu : check.positiveInteger(r.cpu, 'cpu'),
    memory: r.memoryMb === undefined ? BUILD_DEFAULTS.memory : check.positiveInteger(r.memoryMb, 'memoryMb'),
    diskGB: r.diskGb === undefined ? BUILD_DEFAULTS.diskGB : check.positiveInteger(r.diskGb, 'diskGb'),
    steps: buildSteps(r.steps),
  };
  if (r.skipCache !== undefined) body.skipCache = flag(r.skipCache, 'skipCache');
  if (r.update !== undefined) body.update = flag(r.update, 'update');
  if (r.startCmd !== undefined) body.startCmd = check.nonEmptyString(r.startCmd, 'startCmd', '"python app.py"');
  if (r.readyCmd !== undefined) body.readyCmd = record(r.readyCmd, 'readyCmd', '{ type: "port", port: 8000 }');
  if (r.registryCredentials !== undefined) {
    body.registry_credentials = record(r.registryCredentials, 'registryCredentials', '{ type: "basic", username, password }');
  }
  if (r.agentVersion !== undefined) body.agent_version = check.nonEmptyString(r.agentVersion, 'agentVersion', '"3.2.8"');
  return body;
}

function buildSteps(steps: unknown): unknown[] {
  if (steps === undefined) return [];
  if (!Array.isArray(steps)) throw new ValidationError('steps must be an array, e.g. [{ type: "RUN", args: ["pip install pandas"] }].');
  steps.forEach((step, i) => {
    if (typeof step !== 'object' || step === null || typeof (step as { type?: unknown }).type !== 'string') {
      throw new ValidationError(`steps[${i}] must be an object with a string type, e.g. { type: "RUN", args: ["pip install pandas"] }.`);
    }
  });
  return steps;
}

function flag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(`${field} must be true or false.`);
  return value;
}

function record(value: unknown, field: string, example: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${field} must be an object, e.g. ${example}.`);
  }
  return value as Json;
}
