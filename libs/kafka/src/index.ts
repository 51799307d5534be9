export * from './errors.js';
export * from './client.js';
export * from './registry.js';
export * from './topics.js';
export * from './processor.js';
export * from './dead-letter.js';
export * from './publishers.js';
export * from './service.js';
