// The public surface: what other projects use, and nothing else (internals stay inside the package).
export { getBaseDomain } from './base-domain.js';
export { getIpAddressCountry, getIpAddressInfo, getReverseDns } from './convenience.js';
export { createEnricher, type Enricher } from './enricher.js';
export { EnrichError, type EnrichErrorCode } from './errors.js';
export { bundledIpDatabasePath, normalizeIpRecord, openIpDatabase } from './ip-database.js';
export { parseIp, reverseName } from './ip.js';
