import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@parsedmarc-ts/service-runtime';
import { reportTopicsOf, sinkHecEnv, sinksConfigOf } from './config.js';

const token = '5e2f0c6a-hec-t0ken-n0t-in-messages';
const base = {
  KAFKA_BROKERS: 'k:9092',
  SCHEMA_REGISTRY_URL: 'http://r:8081',
  HEC_URL: 'splunk.example:8088',
  HEC_TOKEN: token,
};

describe('sink-hec configuration', () => {
  it('maps the variables to a SinksConfig with only hec set, with the sink defaults', () => {
    const config = loadConfig(sinkHecEnv, base);
    const sinks = sinksConfigOf(config);
    expect({ ...sinks, hec: null }).toEqual({
      stdout: null,
      outputDir: null,
      kafka: null,
      elasticsearch: null,
      opensearch: null,
      hec: null,
      webhook: null,
      syslog: null,
      email: null,
    });
    expect(sinks.hec).toEqual({
      url: 'https://splunk.example:8088',
      token,
      index: null,
      host: null,
      source: 'parsedmarc',
      forensicSourcetype: 'dmarc:forensic',
      caFile: null,
      skipCertificateVerification: false,
      timeoutSeconds: 60,
      save: { aggregate: true, forensic: true, smtpTls: true },
      batchEvents: 5000,
      batchBytes: 4 * 1024 * 1024,
      gzip: true,
      retryBudgetSeconds: 30,
      connectRetrySeconds: 30,
      ackTimeoutSeconds: 120,
      maxUnackedBytes: 64 * 1024 * 1024,
    });
    expect(reportTopicsOf(config)).toEqual(['aggregate', 'forensic', 'smtpTls']);
  });

  it('takes every setting', () => {
    const config = loadConfig(sinkHecEnv, {
      ...base,
      HEC_URL: 'http://127.0.0.1:18088/services/collector/event',
      HEC_TOKEN: `Splunk ${token}`,
      HEC_INDEX: 'email',
      HEC_HOST: 'dmarc-pipeline',
      HEC_SOURCE: 'parsedmarc-ts',
      HEC_FAILURE_SOURCETYPE: 'true',
      HEC_CA_FILE: '/ca.pem',
      HEC_SKIP_CERTIFICATE_VERIFICATION: 'yes',
      HEC_TIMEOUT_SECONDS: '7.5',
      HEC_BATCH_EVENTS: '100',
      HEC_BATCH_BYTES: '65536',
      HEC_GZIP: 'false',
      HEC_RETRY_BUDGET_SECONDS: '0',
      HEC_ACK_TIMEOUT_SECONDS: '30',
      HEC_MAX_UNACKED_BYTES: '1048576',
      SAVE_AGGREGATE: 'false',
    });
    expect(sinksConfigOf(config).hec).toEqual({
      url: 'http://127.0.0.1:18088',
      token,
      index: 'email',
      host: 'dmarc-pipeline',
      source: 'parsedmarc-ts',
      forensicSourcetype: 'dmarc:failure',
      caFile: '/ca.pem',
      skipCertificateVerification: true,
      timeoutSeconds: 7.5,
      save: { aggregate: false, forensic: true, smtpTls: true },
      batchEvents: 100,
      batchBytes: 65536,
      gzip: false,
      retryBudgetSeconds: 0,
      connectRetrySeconds: 0,
      ackTimeoutSeconds: 30,
      maxUnackedBytes: 1048576,
    });
    expect(reportTopicsOf(config)).toEqual(['forensic', 'smtpTls']);
  });

  it('refuses bad settings at start, naming the variable and never echoing the token', () => {
    const bad = (variables: Record<string, string | undefined>) => {
      try {
        loadConfig(sinkHecEnv, { ...base, ...variables });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        const message = (error as Error).message;
        expect(message).not.toContain(token);
        return message;
      }
      throw new Error('accepted');
    };
    expect(bad({ HEC_URL: undefined })).toMatch(/HEC_URL/);
    expect(bad({ HEC_TOKEN: undefined })).toMatch(/HEC_TOKEN/);
    expect(bad({ HEC_TOKEN: 'Splunk  ' })).toMatch(/HEC_TOKEN: the HEC token is empty/);
    expect(bad({ HEC_URL: 'ftp://splunk' })).toMatch(/HEC_URL: only http and https/);
    const inUrl = bad({ HEC_URL: 'https://x:hunter2@splunk:8088' });
    expect(inUrl).toMatch(/HEC_URL: give the token with its own option/);
    expect(inUrl).not.toContain('hunter2');
    expect(bad({ HEC_URL: 'https://x:hunter2@splunk:port' })).not.toContain('hunter2');
    expect(bad({ HEC_BATCH_BYTES: '10' })).toMatch(/HEC_BATCH_BYTES/);
    expect(bad({ HEC_BATCH_EVENTS: '0' })).toMatch(/HEC_BATCH_EVENTS/);
    expect(bad({ HEC_GZIP: 'maybe' })).toMatch(/HEC_GZIP: expected true or false/);
    expect(bad({ SAVE_AGGREGATE: 'false', SAVE_FORENSIC: 'false', SAVE_SMTP_TLS: 'false' })).toMatch(
      /SAVE_AGGREGATE: every SAVE_\* is false/,
    );
  });
});
