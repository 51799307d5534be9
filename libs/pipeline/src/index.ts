export {
  EmbeddedPipeline,
  type EmbeddedPipelineOptions,
  type EnrichFn,
  type PipelineInput,
  type PipelineStats,
  type ReportType,
} from './pipeline.js';
export { bytesInput, fileInput } from './inputs.js';
export { orderedWindow, type WindowBounds } from './window.js';
export { convertOutlookMsg } from './outlook-msg.js';
