export { isFirstPart, isLastPart, type ResultItem, type ResultSink, type SinkRefusal } from './contract.js';
export { SinkError, sinkErrorCodes, type SinkErrorCode, type SinkErrorContext } from './errors.js';
export {
  emailSinkConfigSchema,
  emailSinkDefaults,
  hecSinkConfigSchema,
  hecSinkDefaults,
  kafkaBrokers,
  kafkaSecurityDefaults,
  kafkaSecuritySchema,
  kafkaSinkConfigSchema,
  outputFilesDefaults,
  outputFilesSchema,
  saveSchema,
  searchSinkConfigSchema,
  searchSinkDefaults,
  sinksConfigSchema,
  type EmailSinkConfig,
  type HecSinkConfig,
  type KafkaSecurity,
  type KafkaSinkConfig,
  type OutputFiles,
  type SaveSelection,
  type SearchSinkConfig,
  type SinksConfig,
  type SyslogSinkConfig,
  syslogSinkConfigSchema,
  syslogSinkDefaults,
  type WebhookSinkConfig,
  webhookSinkConfigSchema,
  webhookSinkDefaults,
} from './config.js';
export { closeSinks, openSinks, type SinkContext } from './registry.js';
export { OutputDirSink } from './files.js';
export { kafkaConnectionSecurity } from './kafka-security.js';
export { StdoutJsonSink } from './stdout.js';
