// The sink service runtime (its own entry point: it loads the Kafka client, which the CLI needs only with -K).
export { runSinkService, type SinkService, type SinkServiceContext, type SinkServiceSpec } from './run.js';
export { decodeReportMessage, messageSource, SinkConsumer } from './consumer.js';
export { refineSaveSelection, reportTopicsOfSave, saveSelectionOf, sinkSaveEnv } from './save.js';
