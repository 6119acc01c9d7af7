export * from './processes.js';
export * from './services.js';
export * from './panel-server.js';
export * from './stack.js';
export * from './http.js';
export * from './nats-auth.js';
