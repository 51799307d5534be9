export * from './errors.js';
export * from './types.js';
export * from './batches.js';
export * from './ingest.js';
export * from './imap.js';
export * from './maildir.js';
