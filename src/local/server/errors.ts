/**
 * One error type for both planes. The HTTP layer turns it into the HopX error body
 * (`error`, `message`, `code`, `request_id`, `timestamp`, `path`?, `details`?; docs/hopx-wire.md §3.4).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { path?: string; details?: Record<string, unknown>; body?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const missingParameter = (field: string, hint = '') =>
  new ApiError(400, 'MISSING_PARAMETER', `Missing required field "${field}"${hint ? `: ${hint}` : ''}`, {
    details: { missing_field: field },
  });

export const invalidField = (field: string, problem: string) =>
  new ApiError(400, 'INVALID_REQUEST', `Invalid field "${field}": ${problem}`, { details: { field } });

export const conflict = (message: string, details?: Record<string, unknown>) =>
  new ApiError(409, 'CONFLICT', message, { details });
