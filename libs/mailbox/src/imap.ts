/**
 * An IMAP reports folder through imapflow. One connection, the reports folder selected (read-only with
 * `readOnly`, so that --test does not even mark messages seen), UIDs throughout. Moves use MOVE when the
 * server has it and COPY + \Deleted + (UID) EXPUNGE otherwise.
 */
import type { ConnectionOptions } from 'node:tls';
import { ImapFlow } from 'imapflow';
import { MailboxError } from './errors.js';
import type { FolderPath, MailMessage, MessageRef, WatchableSource } from './types.js';

export interface ImapSourceOptions {
  host: string;
  /** Default: 993 with `secure`, else 143. */
  port?: number;
  /** Implicit TLS (IMAPS). Without it the connection upgrades with STARTTLS when the server offers it. */
  secure: boolean;
  /** Plain IMAP, never STARTTLS (for tests and trusted local servers only). */
  noStartTls?: boolean;
  user: string;
  password: string;
  /** Extra TLS options, e.g. `{ ca }` for a private CA. */
  tls?: ConnectionOptions;
  /** The folder holding the reports. */
  folder: string;
  /** Select the folder read-only (EXAMINE): nothing in it can change, not even \Seen flags. */
  readOnly?: boolean;
  /**
   * Move with COPY + \Deleted + EXPUNGE even when the server has MOVE (servers without MOVE take this path
   * anyway). For tests of that path.
   */
  forceCopyDelete?: boolean;
  connectionTimeoutMs?: number;
}

/**
 * Certificate problems: retrying cannot help, and the user must act (trust the CA, fix the host name), so
 * they are COMMAND errors although they happen while connecting.
 */
const TLS_CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Network-level failures, worth a reconnect. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'NoConnection',
  'ClosedAfterConnectTLS',
  'ClosedAfterConnectText',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'UPGRADE_TIMEOUT',
]);

export class ImapSource implements WatchableSource {
  readonly name: string;
  private changed = false;
  private closed = false;

  private constructor(
    private readonly client: ImapFlow,
    private readonly options: ImapSourceOptions,
    port: number,
  ) {
    this.name = `imap://${options.user}@${options.host}:${port}/${options.folder}`;
    // A new message can arrive while a pass runs (the server reports it in any response); remember it so the
    // next waitForChange does not sleep through it.
    client.on('exists', () => {
      this.changed = true;
    });
    client.on('close', () => {
      this.closed = true;
    });
    // imapflow emits 'error' for socket errors; the pending command rejects as well, which is where we handle it.
    client.on('error', () => undefined);
  }

  /** Connects, logs in and selects the reports folder. */
  static async connect(options: ImapSourceOptions): Promise<ImapSource> {
    const port = options.port ?? (options.secure ? 993 : 143);
    const client = new ImapFlow({
      host: options.host,
      port,
      secure: options.secure,
      doSTARTTLS: options.noStartTls ? false : undefined,
      auth: { user: options.user, pass: options.password },
      tls: options.tls,
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: options.connectionTimeoutMs ?? 30_000,
      greetingTimeout: options.connectionTimeoutMs ?? 30_000,
    });
    const source = new ImapSource(client, options, port);
    try {
      await client.connect();
    } catch (error) {
      client.close();
      throw source.wrap(error, 'cannot connect');
    }
    try {
      await client.mailboxOpen(options.folder, { readOnly: options.readOnly ?? false });
    } catch (error) {
      client.close();
      throw source.wrap(error, `cannot open folder ${options.folder}`);
    }
    return source;
  }

  /** Whether the server advertises a capability (e.g. MOVE, UIDPLUS, IDLE). */
  hasCapability(name: string): boolean {
    return this.client.capabilities.has(name);
  }

  private wrap(error: unknown, what: string, messages?: string[]): MailboxError {
    if (MailboxError.is(error)) return error;
    const err = error as {
      code?: string;
      authenticationFailed?: boolean;
      responseText?: string;
      message?: string;
    };
    const detail = err.responseText ?? err.message ?? String(error);
    const context = { mailbox: this.name, ...(messages ? { messages } : {}) };
    if (err.authenticationFailed)
      return new MailboxError('AUTH', `${what}: authentication failed`, context, { cause: error });
    if (err.code !== undefined && TLS_CERT_CODES.has(err.code))
      return new MailboxError('COMMAND', `${what}: TLS certificate rejected: ${detail}`, context, {
        cause: error,
      });
    const lost =
      this.closed || !this.client.usable || (err.code !== undefined && CONNECTION_CODES.has(err.code));
    return new MailboxError(lost ? 'CONNECTION' : 'COMMAND', `${what}: ${detail}`, context, { cause: error });
  }

  private sourceOf(uid: number | string): string {
    return `imap:${this.options.folder}/${uid}`;
  }

  private range(refs: readonly MessageRef[]): string {
    return refs.map((ref) => ref.id).join(',');
  }

  async list(): Promise<MessageRef[]> {
    this.changed = false;
    const refs: MessageRef[] = [];
    try {
      const mailbox = this.client.mailbox;
      if (!mailbox || mailbox.exists === 0) return refs;
      // UID and size only: a few dozen bytes per message, so even 100,000 messages list in bounded memory.
      for await (const message of this.client.fetch('1:*', { uid: true, size: true })) {
        refs.push({ id: String(message.uid), size: message.size ?? 0 });
      }
    } catch (error) {
      throw this.wrap(error, 'cannot list messages');
    }
    return refs.sort((a, b) => Number(a.id) - Number(b.id));
  }

  async fetch(refs: readonly MessageRef[]): Promise<MailMessage[]> {
    if (refs.length === 0) return [];
    const byUid = new Map<string, MailMessage>();
    try {
      for await (const message of this.client.fetch(
        this.range(refs),
        { uid: true, source: true },
        { uid: true },
      )) {
        if (!message.source) continue;
        const id = String(message.uid);
        byUid.set(id, { id, size: message.source.length, source: this.sourceOf(id), bytes: message.source });
      }
    } catch (error) {
      throw this.wrap(
        error,
        'cannot fetch messages',
        refs.map((ref) => this.sourceOf(ref.id)),
      );
    }
    // In listing order; a message expunged by another client meanwhile is simply absent.
    return refs.flatMap((ref) => byUid.get(ref.id) ?? []);
  }

  private path(folder: FolderPath): string[] {
    return [...folder];
  }

  async ensureFolder(folder: FolderPath): Promise<void> {
    try {
      // imapflow joins the segments with the server's hierarchy delimiter; an existing folder is not an error.
      await this.client.mailboxCreate(this.path(folder));
    } catch (error) {
      throw this.wrap(error, `cannot create folder ${folder.join('/')}`);
    }
  }

  async move(refs: readonly MessageRef[], folder: FolderPath): Promise<void> {
    if (refs.length === 0) return;
    const sources = refs.map((ref) => this.sourceOf(ref.id));
    const what = `cannot move to ${folder.join('/')}`;
    try {
      if (this.options.forceCopyDelete || !this.hasCapability('MOVE')) {
        // The copy must be complete before the originals are flagged and expunged.
        const copied = await this.client.messageCopy(this.range(refs), this.path(folder), { uid: true });
        if (!copied) throw new Error('COPY refused');
        // UID EXPUNGE (UIDPLUS) removes only these messages; plain EXPUNGE, the fallback, all \Deleted ones.
        const deleted = await this.client.messageDelete(this.range(refs), { uid: true });
        if (!deleted) throw new Error('copied, but removing the originals was refused');
      } else {
        const moved = await this.client.messageMove(this.range(refs), this.path(folder), { uid: true });
        if (!moved) throw new Error('MOVE refused');
      }
    } catch (error) {
      throw this.wrap(error, what, sources);
    }
  }

  async delete(refs: readonly MessageRef[]): Promise<void> {
    if (refs.length === 0) return;
    try {
      const deleted = await this.client.messageDelete(this.range(refs), { uid: true });
      if (!deleted) throw new Error('STORE/EXPUNGE refused');
    } catch (error) {
      throw this.wrap(
        error,
        'cannot delete messages',
        refs.map((ref) => this.sourceOf(ref.id)),
      );
    }
  }

  async waitForChange(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    if (this.changed) return;
    if (this.closed) throw this.wrap(new Error('connection closed'), 'IDLE');
    await new Promise<void>((resolve, reject) => {
      let finished = false;
      const finish = (error?: MailboxError): void => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        this.client.off('exists', onExists);
        this.client.off('close', onClose);
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onExists = (): void => finish();
      const onClose = (): void => finish(this.wrap(new Error('connection closed by the server'), 'IDLE'));
      const onAbort = (): void => finish();
      const timer = setTimeout(() => finish(), options.timeoutMs);
      this.client.on('exists', onExists);
      this.client.on('close', onClose);
      options.signal?.addEventListener('abort', onAbort);
      // idle() resolves when IDLE ends: when our next command breaks it, or the connection closes.
      this.client.idle().then(
        (result) => {
          if (result === false) finish(this.wrap(new Error('IDLE refused'), 'IDLE'));
        },
        (error: unknown) => finish(this.wrap(error, 'IDLE')),
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.client.usable) {
      try {
        await this.client.logout();
        return;
      } catch {
        // The connection died while saying goodbye; closing the socket below is all that is left to do.
      }
    }
    this.client.close();
  }
}
