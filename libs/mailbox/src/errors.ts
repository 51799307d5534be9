/**
 * Typed mailbox errors. `code` tells the caller what to do: CONNECTION is worth a reconnect (the server
 * dropped us, restarts, or is not reachable yet); AUTH and COMMAND are not (a retry would fail the same way);
 * OUTPUT comes from the caller's handler (a sink could not write or flush) and stops the run with the
 * message left in place.
 */
import { isPdmError, PdmError } from '@parsedmarc-ts/errors';

export type MailboxErrorCode = 'CONNECTION' | 'AUTH' | 'COMMAND' | 'MAILDIR' | 'OUTPUT';

export interface MailboxErrorContext {
  /** The mailbox, e.g. "imap://dmarc@127.0.0.1:993/INBOX" or a Maildir path (never a password). */
  mailbox: string;
  /** The message(s) concerned, when there are some. */
  messages?: string[];
}

/** `retriable` for CONNECTION only: reconnecting may help. */
export class MailboxError extends PdmError<MailboxErrorCode, MailboxErrorContext> {
  readonly family = 'mailbox';
  override readonly name = 'MailboxError';
  constructor(
    code: MailboxErrorCode,
    message: string,
    context: MailboxErrorContext,
    options?: { cause?: unknown },
  ) {
    super(code, message, context, { cause: options?.cause, retriable: code === 'CONNECTION' });
  }

  /** Brand check (surviving duplicated module copies), of one code when given. */
  static is(error: unknown, code?: MailboxErrorCode): error is MailboxError {
    return isPdmError(error, 'mailbox') && (code === undefined || error.code === code);
  }
}
