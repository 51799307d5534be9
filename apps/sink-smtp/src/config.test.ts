import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@parsedmarc-ts/service-runtime';
import { emailConfigOf, reportTopicsOf, sinkSmtpEnv } from './config.js';
import { isWindowClosed, windowOf } from './windows.js';

const base = {
  KAFKA_BROKERS: 'k:9092',
  SCHEMA_REGISTRY_URL: 'http://r:8081',
  SMTP_HOST: 'smtp.example.com',
  SMTP_FROM: 'dmarc@example.com',
  SMTP_TO: 'team@example.com, soc@example.net',
};

describe('sink-smtp configuration', () => {
  it('maps the variables to the email sink settings, with the defaults', () => {
    const config = loadConfig(sinkSmtpEnv, { ...base, SMTP_USER: 'dmarc', SMTP_PASSWORD: 'pw' });
    expect(emailConfigOf(config)).toEqual({
      host: 'smtp.example.com',
      port: null,
      ssl: false,
      user: 'dmarc',
      password: 'pw',
      skipCertificateVerification: false,
      caFile: null,
      from: 'dmarc@example.com',
      to: ['team@example.com', 'soc@example.net'],
      subject: null,
      attachment: null,
      message: null,
      digest: true,
      timeoutSeconds: 60,
      retryBudgetSeconds: 60,
    });
    expect(config.DIGEST_WINDOW_HOURS).toBe(24);
    expect(config.DIGEST_GRACE_SECONDS).toBe(600);
    expect(reportTopicsOf(config)).toEqual(['aggregate', 'forensic', 'smtpTls']);
  });

  it('refuses bad settings at start, naming the variable and never echoing the password', () => {
    const bad = (variables: Record<string, string | undefined>) => {
      try {
        loadConfig(sinkSmtpEnv, { ...base, SMTP_PASSWORD: 'hunter2', ...variables });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).not.toContain('hunter2');
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ SMTP_HOST: undefined })).toMatch(/SMTP_HOST/);
    expect(bad({ SMTP_FROM: 'nobody' })).toMatch(/SMTP_FROM: not an email address/);
    expect(bad({ SMTP_TO: '' })).toMatch(/SMTP_TO/);
    expect(bad({ SMTP_PORT: '70000' })).toMatch(/SMTP_PORT/);
    expect(bad({ DIGEST_WINDOW_HOURS: '0' })).toMatch(/DIGEST_WINDOW_HOURS/);
    expect(bad({ SAVE_AGGREGATE: 'false', SAVE_FORENSIC: 'false', SAVE_SMTP_TLS: 'false' })).toMatch(
      /SAVE_AGGREGATE: every SAVE_\* is false/,
    );
  });
});

describe('digest windows', () => {
  const day = Date.parse('2026-12-01T00:00:00Z');
  it('puts a timestamp in its fixed window, whatever the time it is consumed', () => {
    expect(windowOf(day + 5 * 3_600_000, 24)).toEqual({
      id: '2026-12-01T00:00:00.000Z',
      startMs: day,
      endMs: day + 86_400_000,
    });
    expect(windowOf(day - 1, 24).id).toBe('2026-11-30T00:00:00.000Z');
    expect(windowOf(day + 7 * 3_600_000, 6).id).toBe('2026-12-01T06:00:00.000Z');
  });

  it('closes a window after its end and grace, once no partition can still bring some of it', () => {
    const w = windowOf(day, 24);
    const grace = 600_000;
    const after = w.endMs + grace;
    const lagging = { maxTimestampMs: w.endMs - 1, caughtUp: false };
    expect(isWindowClosed(w, after - 1, grace, [])).toBe(false);
    expect(isWindowClosed(w, after, grace, [{ maxTimestampMs: 0, caughtUp: true }])).toBe(true);
    expect(isWindowClosed(w, after, grace, [lagging])).toBe(false);
    expect(isWindowClosed(w, after, grace, [{ maxTimestampMs: after, caughtUp: false }])).toBe(true);
  });
});
