/**
 * Bounds on everything an attacker controls. A report arrives from anyone on the Internet who can send
 * mail, so every size, count and depth is capped; a breach is a ParseError with code LIMIT_EXCEEDED
 * naming the limit, never an out-of-memory crash. Defaults are generous for real reports (the largest
 * real aggregate reports seen are a few hundred thousand records, tens of MB of XML).
 */
export interface ParseLimits {
  /** Bytes of one input as received (file, email, Kafka message). */
  maxInputBytes: number;
  /** Bytes after decompressing one gzip stream or one zip member (zip/gzip bombs). */
  maxDecompressedBytes: number;
  /** Ratio decompressed/compressed above which a stream is treated as a bomb (checked beyond 1 MiB of output). */
  maxCompressionRatio: number;
  /** Members in one zip archive. */
  maxZipMembers: number;
  /** MIME parts in one email (all nesting levels). */
  maxMimeParts: number;
  /** Depth of nested containers (zip in email in zip...). */
  maxNestingDepth: number;
  /** Element nesting depth in an XML report. */
  maxXmlDepth: number;
  /** Bytes of text in one XML element (a huge text node is an attack, not a report). */
  maxXmlTextBytes: number;
  /** Records in one aggregate report. */
  maxRecords: number;
  /** Messages in one mbox file. */
  maxMboxMessages: number;
  /**
   * Bytes of one SMTP TLS report (JSON is parsed whole, into objects many times its size, and its indented
   * rendering is ~4.5 times its size, under maxReportJsonChars; real reports are kilobytes, a large
   * provider's a few megabytes).
   */
  maxSmtpTlsBytes: number;
  /**
   * Characters of one forensic or SMTP TLS report rendered as JSON (outputs render each report whole, and
   * a JavaScript string holds at most about 512 million characters; escaping can multiply a string by 6).
   */
  maxReportJsonChars: number;
}

export const defaultParseLimits: Readonly<ParseLimits> = Object.freeze({
  maxInputBytes: 256 * 1024 * 1024,
  maxDecompressedBytes: 512 * 1024 * 1024,
  maxCompressionRatio: 2000,
  maxZipMembers: 100,
  maxMimeParts: 500,
  maxNestingDepth: 4,
  maxXmlDepth: 32,
  maxXmlTextBytes: 1024 * 1024,
  maxRecords: 2_000_000,
  maxMboxMessages: 1_000_000,
  maxSmtpTlsBytes: 16 * 1024 * 1024,
  maxReportJsonChars: 128 * 1024 * 1024,
});

export function resolveLimits(overrides: Partial<ParseLimits> = {}): ParseLimits {
  return { ...defaultParseLimits, ...overrides };
}
