export * from './generated/types.js';
export * from './generated/schemas.js';
export * from './convert.js';
export * from './keys.js';
export * from './codec.js';
export * from './split.js';
export * from './messages.js';
export * from './compat.js';
