#!/usr/bin/env node
/** sink-smtp service: dmarc_aggregate, dmarc_forensic, dmarc_smtp_tls → one emailed digest per window. */
import { SinkError } from '@parsedmarc-ts/sinks';
import { serviceName } from './config.js';
import { startSinkSmtp } from './service.js';

process.env.TZ ??= 'UTC';

try {
  await startSinkSmtp();
} catch (error) {
  // A bad configuration (before the logger exists) or an SMTP server refusing us at start: one line, non-zero exit.
  const line = SinkError.is(error) ? error.describe() : (error as Error).message;
  process.stderr.write(`${serviceName}: ${line}\n`);
  process.exit(1);
}
