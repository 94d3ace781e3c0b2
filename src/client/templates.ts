/** Control plane: templates (hopx-api.md §4.10). Template building is out of scope. */
import type { ClientContext } from './context.js';
import * as check from './validate.js';
import { toTemplateInfo, toTemplateList } from './wire.js';
import type { CallOptions, ListTemplatesOptions, TemplateInfo, TemplatesApi } from './types.js';

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
}
