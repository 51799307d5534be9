// The public surface: what other projects use, and nothing else (internals stay inside the package).
export * from './generated/types.js';
export { decodeValue, encodeValue, topicType } from './codec.js';
export {
  aggregateFromAvro,
  forensicFromAvro,
  forensicToAvro,
  InvalidParsedMessage,
  parsedFromAvro,
  smtpTlsFromAvro,
} from './convert.js';
export { type TopicKind, topicKinds, topicSchemas } from './generated/schemas.js';
export { reportKey, sha256Hex } from './keys.js';
export {
  parsedTopicValue,
  ReportMessages,
  type ReportTopic,
  type ReportTopicKind,
  reportTopicKinds,
  reportTopicValue,
  type ReportTopicValue,
} from './messages.js';
export { aggregateMessages, MessageTooLargeError, newPartNumbering } from './split.js';
