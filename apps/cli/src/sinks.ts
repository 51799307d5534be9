// The result sinks live in @parsedmarc-ts/api (shared with the library API's saveOutput); re-exported for the CLI.
export { OutputDirSink, StdoutJsonSink, type ResultItem, type ResultSink } from '@parsedmarc-ts/api';
