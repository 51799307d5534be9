export * from './errors.js';
export * from './enricher.js';
export * from './convenience.js';
export { getBaseDomain } from './base-domain.js';
export { parseNameserver, type Nameserver, type PtrOutcome } from './dns-client.js';
export { parseIp, canonicalIp, reverseName, type ParsedIp } from './ip.js';
export {
  normalizeIpRecord,
  openIpDatabase,
  openIpDatabaseShared,
  bundledIpDatabasePath,
  type IpDatabase,
  type IpDatabaseRecord,
} from './ip-database.js';
export {
  SenderMap,
  parseSenderMapCsv,
  readSenderMapCsv,
  type SenderService,
  type SenderMapEntry,
} from './sender-map.js';
