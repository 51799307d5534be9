/**
 * Typed mailbox errors. `code` tells the caller what to do: CONNECTION is worth a reconnect (the server
 * dropped us, restarts, or is not reachable yet); AUTH and COMMAND are not (a retry would fail the same way);
 * OUTPUT comes from the caller's handler (a sink could not write or flush) and stops the run with the
 * message left in place.
 */
export type MailboxErrorCode = 'CONNECTION' | 'AUTH' | 'COMMAND' | 'MAILDIR' | 'OUTPUT';

export interface MailboxErrorContext {
  /** The mailbox, e.g. "imap://dmarc@127.0.0.1:993/INBOX" or a Maildir path (never a password). */
  mailbox: string;
  /** The message(s) concerned, when there are some. */
  messages?: string[];
}

export class MailboxError extends Error {
  override readonly name = 'MailboxError';
  constructor(
    readonly code: MailboxErrorCode,
    message: string,
    readonly context: MailboxErrorContext,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static is(error: unknown, code?: MailboxErrorCode): error is MailboxError {
    return error instanceof MailboxError && (code === undefined || error.code === code);
  }
}
