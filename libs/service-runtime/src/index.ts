export * from './config.js';
export * from './logger.js';
export * from './runtime.js';
export * from './retry.js';
export * from './ini.js';
export * from './parsedmarc-ini-keys.js';
export * from './parsedmarc-settings.js';
