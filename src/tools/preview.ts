import type { ToolDefinition } from './tool.js';

const tools: ToolDefinition[] = [];
export default tools;
