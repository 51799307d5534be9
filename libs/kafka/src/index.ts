// The public surface: what other projects use, and nothing else (internals stay inside the package).
export { connectConsumer, createKafka, type KafkaConnection } from './client.js';
export { deadLetterMessage } from './dead-letter.js';
export { isRetriable, PoisonMessageError } from './errors.js';
export { type InputMessage, inputMessageOf, type OutputMessage } from './processor.js';
export {
  createJsonReportPublisher,
  createRawMailPublisher,
  createReportPublisher,
  type ReportPublisher,
} from './publishers.js';
export { encodeReportTopicValue, isWireFormat, RegistryCodec } from './registry.js';
export {
  kafkaCommonEnv,
  kafkaSecrets,
  kafkaServiceEnv,
  type KafkaServiceSpec,
  type KafkaSinkServiceConfig,
  kafkaSinkServiceEnv,
  runStageService,
  type Stage,
  startKafkaService,
} from './service.js';
export { ensureTopics, prefixedTopicNames, sizeLimits, topicKindOf, type TopicNames } from './topics.js';
