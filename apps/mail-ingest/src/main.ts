#!/usr/bin/env node
/** mail-ingest service: mailbox → raw-mail (see service.ts). */
import { startMailIngest } from './service.js';

try {
  await startMailIngest();
} catch (error) {
  // Before the logger exists (bad config) or a start that cannot succeed: one line, non-zero exit.
  process.stderr.write(`mail-ingest: ${(error as Error).message}\n`);
  process.exit(1);
}
