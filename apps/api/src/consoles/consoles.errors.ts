import { domainErrorClass } from '../common/domain-error.js';

export const ConsoleErrorCode = {
  ServerNotFound: 'server_not_found',
  NotRunning: 'server_not_running',
  TicketRefused: 'console_ticket_refused',
  NodeUnavailable: 'console_node_unavailable',
} as const;
export type ConsoleErrorCode = (typeof ConsoleErrorCode)[keyof typeof ConsoleErrorCode];

const STATUS: Record<ConsoleErrorCode, number> = {
  server_not_found: 404,
  server_not_running: 409,
  console_ticket_refused: 401,
  console_node_unavailable: 503,
};

export class ConsoleError extends domainErrorClass<ConsoleErrorCode>(STATUS) {}
