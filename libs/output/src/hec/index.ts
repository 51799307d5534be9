// The pure part of the Splunk HEC sink: events as the original sends them. No I/O.
export {
  HEC_SOURCETYPES,
  hecEventsOf,
  type HecEventOptions,
  type HecEventsResult,
  type HecForensicSourcetype,
} from './events.js';
