export * from './enums.js';
export * from './server-state.js';
export * from './subjects.js';
export * from './validation.js';
export * from './commands.js';
export * from './events.js';
export * from './permissions.js';
export * from './api.js';
