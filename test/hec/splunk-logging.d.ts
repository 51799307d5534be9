/** The part of splunk-logging 0.11 (Splunk's Node.js HEC client, no types of its own) that the tests use. */
declare module 'splunk-logging' {
  namespace splunkLogging {
    interface Config {
      token: string;
      /** e.g. http://127.0.0.1:18088 (path defaults to /services/collector/event/1.0) */
      url?: string;
      /** events queued before a send (default 1) */
      maxBatchCount?: number;
      maxBatchSize?: number;
      batchInterval?: number;
      maxRetries?: number;
    }

    interface Payload {
      message: unknown;
      severity?: string;
      metadata?: {
        time?: number | Date;
        host?: string;
        source?: string;
        sourcetype?: string;
        index?: string;
      };
    }

    /** `body` is the receiver's JSON answer, parsed. */
    type Callback = (
      error: Error | null,
      response: { statusCode?: number } | undefined,
      body: unknown,
    ) => void;

    class Logger {
      constructor(config: Config);
      /** queues the event; sends the batch (and calls back) once maxBatchCount events are queued */
      send(payload: Payload, callback?: Callback): void;
      flush(callback?: Callback): void;
      /** called with a request error, or with Error(text) carrying `code` when the answer's code is not 0 */
      error: (error: Error & { code?: number }, context: unknown) => void;
    }
  }
  export = splunkLogging;
}
