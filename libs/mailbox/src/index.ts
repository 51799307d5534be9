// The public surface: what other projects use, and nothing else (internals stay inside the package).
export { dispositionOf } from './batches.js';
export { MailboxError, type MailboxErrorCode } from './errors.js';
export { ImapSource, type ImapSourceOptions } from './imap.js';
export { type IngestStats, runIngest } from './ingest.js';
export { isMaildir, listMaildirMessages, MaildirSource } from './maildir.js';
export {
  type ArchiveSubfolder,
  type BatchHandler,
  type Disposition,
  type MailMessage,
  type MailSource,
} from './types.js';
