import { z } from 'zod';
import { env } from '@parsedmarc-ts/service-runtime';
import { kafkaCommonEnv, sizeLimits } from '@parsedmarc-ts/kafka';

/**
 * Every variable mail-ingest reads: the Kafka variables of every service (no transactions here) (brokers, registry, topic names) and the
 * mailbox. Exactly one of IMAP_HOST and MAILDIR_PATH names the mailbox. IMAP_PASSWORD may come from
 * IMAP_PASSWORD_FILE.
 */
export const mailIngestEnv = z
  .object({
    ...kafkaCommonEnv,
    IMAP_HOST: z.string().optional(),
    /** Default 993 with IMAP_SSL, else 143. */
    IMAP_PORT: z.coerce.number().int().min(1).max(65535).optional(),
    /** Implicit TLS (IMAPS). Without it, STARTTLS is used when the server offers it. */
    IMAP_SSL: env.boolean(true),
    /** Plain IMAP even when the server offers STARTTLS: for a server on the same host only. */
    IMAP_NO_STARTTLS: env.boolean(false),
    /** PEM file of the CA (or self-signed certificate) to trust for the IMAP server. */
    IMAP_TLS_CA_FILE: z.string().optional(),
    IMAP_USER: z.string().optional(),
    IMAP_PASSWORD: z.string().optional(),
    /** A Maildir (with cur/ and new/) instead of IMAP. */
    MAILDIR_PATH: z.string().optional(),
    MAILBOX_REPORTS_FOLDER: z.string().min(1).default('INBOX'),
    MAILBOX_ARCHIVE_FOLDER: z.string().min(1).default('Archive'),
    /** Where produced messages go, below the archive folder (this service does not parse: no type folders). */
    MAILBOX_INGESTED_FOLDER: z.string().min(1).default('Ingested'),
    /** Where messages too large for raw-mail go (after their dead letter was produced). */
    MAILBOX_INVALID_FOLDER: z.string().min(1).default('Invalid'),
    /** Delete produced messages instead of archiving them. */
    MAILBOX_DELETE: env.boolean(false),
    /** Keep running and wait for new mail (IMAP IDLE, Maildir inotify); false: one pass, then exit. */
    MAILBOX_WATCH: env.boolean(true),
    /** Largest message produced; larger ones are dead-lettered (reference only) and archived as invalid. */
    MAILBOX_MAX_MESSAGE_BYTES: env.positiveInt(sizeLimits.maxRawPayloadBytes),
    MAILBOX_BATCH_SIZE: env.positiveInt(100),
    MAILBOX_BATCH_BYTES: env.positiveInt(32 * 1024 * 1024),
    /** Longest IDLE before the folder is listed again anyway. */
    MAILBOX_IDLE_TIMEOUT_MS: env.positiveInt(5 * 60_000),
    MAILBOX_RECONNECT_INITIAL_MS: env.positiveInt(1000),
    MAILBOX_RECONNECT_MAX_MS: env.positiveInt(60_000),
  })
  .superRefine((config, ctx) => {
    const sources = [config.IMAP_HOST, config.MAILDIR_PATH].filter((v) => v !== undefined).length;
    if (sources !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['IMAP_HOST'],
        message: 'set exactly one of IMAP_HOST and MAILDIR_PATH',
      });
    if (config.IMAP_HOST !== undefined) {
      for (const name of ['IMAP_USER', 'IMAP_PASSWORD'] as const)
        if (config[name] === undefined)
          ctx.addIssue({ code: 'custom', path: [name], message: 'required with IMAP_HOST' });
    }
  });

/** mail-ingest's own secrets (besides the Kafka ones): each may come from <NAME>_FILE. */
export const mailIngestSecrets = ['IMAP_PASSWORD'] as const;

export type MailIngestConfig = z.infer<typeof mailIngestEnv>;
