import type { McpServer } from '@modelcontextprotocol/server';
import type { Conversation } from '../session.js';
import type { OutputBudget } from '../tools/tool.js';

export function registerResources(_server: McpServer, _conversation: Conversation, _deps: { budget: OutputBudget }): void {}
