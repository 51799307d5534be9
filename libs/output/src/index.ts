export * from './csv.js';
export * from './json.js';
export * from './zip.js';
export * from './kafka-json.js';
export * from './search/index.js';
export * from './hec/index.js';
export * from './digest/index.js';
export * from './syslog.js';
