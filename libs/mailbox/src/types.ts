/** What the ingest loop needs from a mailbox (IMAP folder or Maildir), and what it hands to its caller. */

/** A message as listed, before its bytes are fetched. */
export interface MessageRef {
  /** Stable within one listing: the IMAP UID as text, or the Maildir file's unique name. */
  id: string;
  /** Bytes, as the mailbox reports it (used to bound a batch's memory). */
  size: number;
}

export interface MailMessage extends MessageRef {
  /** Names the message in outcomes and logs: "imap:INBOX/123" or the Maildir file path. */
  source: string;
  bytes: Buffer;
}

/** Where a processed message goes, below the archive folder: the CLI's folders by report type. */
export type Disposition = 'Aggregate' | 'Forensic' | 'SMTP-TLS' | 'Invalid';
export const DISPOSITIONS: readonly Disposition[] = ['Aggregate', 'Forensic', 'SMTP-TLS', 'Invalid'];

/** An archive subfolder name: a Disposition, or another caller's own (the ingest service's "Ingested"). */
export type ArchiveSubfolder = string;

/** A folder path as its segments, e.g. ["Archive", "Aggregate"]; each mailbox joins them its own way. */
export type FolderPath = readonly string[];

export interface MailSource {
  /** For logs and errors; never contains a password. */
  readonly name: string;
  /** Every message currently in the reports folder, oldest first. */
  list(): Promise<MessageRef[]>;
  /** The bytes of these messages, in the given order; a message gone meanwhile is left out. */
  fetch(refs: readonly MessageRef[]): Promise<MailMessage[]>;
  /** Creates the folder (and its parents) when missing. */
  ensureFolder(folder: FolderPath): Promise<void>;
  move(refs: readonly MessageRef[], folder: FolderPath): Promise<void>;
  delete(refs: readonly MessageRef[]): Promise<void>;
  close(): Promise<void>;
}

/** A source that can wait for new mail (IMAP IDLE, or polling a Maildir). */
export interface WatchableSource extends MailSource {
  /**
   * Resolves when the reports folder may have changed since the last list(), after `timeoutMs`, or when
   * `signal` aborts. Rejects with a CONNECTION MailboxError when the connection is lost.
   */
  waitForChange(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;
}

/**
 * The caller's side of the protocol: process a batch (write its results to the outputs), then make them
 * durable. Messages are moved or deleted only after `commit` resolved, so a crash in between causes a
 * reprocess, never a loss.
 */
export interface BatchHandler {
  /**
   * One archive subfolder per message, same order. Throwing stops the run; the batch stays where it is.
   */
  process(messages: readonly MailMessage[]): Promise<ArchiveSubfolder[]>;
  /** Makes everything processed so far durable (fsync, broker ack...). */
  commit(): Promise<void>;
}
