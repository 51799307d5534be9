import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@parsedmarc-ts/service-runtime';
import { reportTopicsOf, sinkElasticEnv, sinksConfigOf } from './config.js';

const base = {
  KAFKA_BROKERS: 'k:9092',
  SCHEMA_REGISTRY_URL: 'http://r:8081',
  ELASTICSEARCH_HOSTS: 'es1,es2:9201',
};

describe('sink-elastic configuration', () => {
  it('maps the variables to a SinksConfig with only elasticsearch set, with the sink defaults', () => {
    const config = loadConfig(sinkElasticEnv, base);
    const sinks = sinksConfigOf(config);
    expect({ ...sinks, elasticsearch: null }).toEqual({
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
    expect(sinks.elasticsearch).toMatchObject({
      hosts: ['http://es1:9200', 'http://es2:9201'],
      user: null,
      password: null,
      apiKey: null,
      forensicIndexBase: 'dmarc_forensic',
      monthlyIndexes: false,
      save: { aggregate: true, forensic: true, smtpTls: true },
      retryBudgetSeconds: 30,
      bulkDocuments: 2000,
    });
    expect(reportTopicsOf(config)).toEqual(['aggregate', 'forensic', 'smtpTls']);
    expect(config.MAX_MESSAGES_PER_FLUSH).toBe(500);
  });

  it('takes every setting', () => {
    const config = loadConfig(sinkElasticEnv, {
      ...base,
      ELASTICSEARCH_HOSTS: 'https://es.example:9243',
      ELASTICSEARCH_API_KEY: 'a2V5',
      ELASTICSEARCH_CA_FILE: '/ca.pem',
      ELASTICSEARCH_SKIP_CERTIFICATE_VERIFICATION: 'true',
      ELASTICSEARCH_TIMEOUT_SECONDS: '12.5',
      ELASTICSEARCH_INDEX_PREFIX: 'acme-',
      ELASTICSEARCH_INDEX_SUFFIX: 'eu',
      ELASTICSEARCH_MONTHLY_INDEXES: 'yes',
      ELASTICSEARCH_FAILURE_INDEX: '1',
      ELASTICSEARCH_NUMBER_OF_SHARDS: '3',
      ELASTICSEARCH_NUMBER_OF_REPLICAS: '2',
      ELASTICSEARCH_BULK_DOCUMENTS: '100',
      ELASTICSEARCH_BULK_BYTES: '65536',
      ELASTICSEARCH_RETRY_BUDGET_SECONDS: '0',
      SAVE_FORENSIC: 'false',
    });
    expect(sinksConfigOf(config).elasticsearch).toEqual({
      hosts: ['https://es.example:9243'],
      user: null,
      password: null,
      apiKey: 'a2V5',
      caFile: '/ca.pem',
      skipCertificateVerification: true,
      timeoutSeconds: 12.5,
      indexPrefix: 'acme-',
      indexSuffix: 'eu',
      monthlyIndexes: true,
      forensicIndexBase: 'dmarc_failure',
      numberOfShards: 3,
      numberOfReplicas: 2,
      save: { aggregate: true, forensic: false, smtpTls: true },
      bulkDocuments: 100,
      bulkBytes: 65536,
      retryBudgetSeconds: 0,
      connectRetrySeconds: 0,
    });
    expect(reportTopicsOf(config)).toEqual(['aggregate', 'smtpTls']);
  });

  it('refuses bad settings at start, naming the variable and never echoing a secret', () => {
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig(sinkElasticEnv, { ...base, ...env });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ ELASTICSEARCH_HOSTS: '' })).toMatch(/ELASTICSEARCH_HOSTS.*not set/);
    expect(bad({ ELASTICSEARCH_HOSTS: 'ftp://es' })).toMatch(/ELASTICSEARCH_HOSTS: only http and https/);
    const inUrl = bad({ ELASTICSEARCH_HOSTS: 'https://u:hunter2@es' });
    expect(inUrl).toMatch(/ELASTICSEARCH_HOSTS/);
    expect(inUrl).not.toContain('hunter2');
    const malformed = bad({ ELASTICSEARCH_HOSTS: 'https://u:hun ter2@es:x' });
    expect(malformed).toMatch(/ELASTICSEARCH_HOSTS/);
    expect(malformed).not.toContain('ter2');
    expect(bad({ ELASTICSEARCH_HOSTS: 'es1,u:hunter2@es:x' })).not.toContain('hunter2');
    const both = bad({
      ELASTICSEARCH_USER: 'u',
      ELASTICSEARCH_PASSWORD: 'hunter2',
      ELASTICSEARCH_API_KEY: 'k3y',
    });
    expect(both).toMatch(/either a user and password or an API key/);
    expect(both).not.toMatch(/hunter2|k3y/);
    expect(bad({ ELASTICSEARCH_PASSWORD: 'hunter2' })).toMatch(/a password needs a user/);
    expect(bad({ ELASTICSEARCH_NUMBER_OF_SHARDS: '0' })).toMatch(/ELASTICSEARCH_NUMBER_OF_SHARDS/);
    expect(bad({ ELASTICSEARCH_BULK_BYTES: '10' })).toMatch(/ELASTICSEARCH_BULK_BYTES/);
    expect(bad({ SAVE_AGGREGATE: 'false', SAVE_FORENSIC: 'false', SAVE_SMTP_TLS: 'false' })).toMatch(
      /SAVE_AGGREGATE: every SAVE_\* is false/,
    );
  });
});
