import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoffDelay, retryWithBackoff } from './retry.js';
import { baseServiceEnv, ConfigError, env, loadConfig, withFileSecrets } from './config.js';
import { createLogger } from './logger.js';
import { ServiceRuntime } from './runtime.js';

const schema = z.object({
  ...baseServiceEnv,
  KAFKA_BROKERS: env.list(),
  BATCH_SIZE: env.positiveInt(100),
  DRY_RUN: env.boolean(false),
  KAFKA_SASL_PASSWORD: z.string().optional(),
});

describe('loadConfig', () => {
  it('applies defaults and coerces values', () => {
    const config = loadConfig(schema, {
      KAFKA_BROKERS: 'a:1, b:2',
      BATCH_SIZE: '7',
      DRY_RUN: 'yes',
      LOG_LEVEL: '',
    });
    expect(config).toMatchObject({
      KAFKA_BROKERS: ['a:1', 'b:2'],
      BATCH_SIZE: 7,
      DRY_RUN: true,
      LOG_LEVEL: 'info',
      HTTP_PORT: 8080,
    });
  });

  it('names every bad or missing variable, without echoing values', () => {
    const attempt = () =>
      loadConfig(schema, { BATCH_SIZE: '-3', HTTP_PORT: 'http', KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/KAFKA_BROKERS: .*\(not set\)/);
    expect(attempt).toThrow(/BATCH_SIZE: /);
    expect(attempt).toThrow(/HTTP_PORT: /);
    try {
      attempt();
    } catch (error) {
      expect(String(error)).not.toContain('-3');
    }
  });

  it('reads secrets from NAME_FILE and refuses both forms at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdm-secret-'));
    writeFileSync(join(dir, 'pw'), 's3cret\n');
    const fromFile = withFileSecrets({ KAFKA_SASL_PASSWORD_FILE: join(dir, 'pw') }, ['KAFKA_SASL_PASSWORD']);
    expect(fromFile.KAFKA_SASL_PASSWORD).toBe('s3cret');
    expect(() =>
      withFileSecrets({ KAFKA_SASL_PASSWORD: 'x', KAFKA_SASL_PASSWORD_FILE: join(dir, 'pw') }, [
        'KAFKA_SASL_PASSWORD',
      ]),
    ).toThrow(/both set/);
    expect(() =>
      withFileSecrets({ KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing') }, ['KAFKA_SASL_PASSWORD']),
    ).toThrow(/cannot read/);
  });
});

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, logger: createLogger('test-svc', 'info', stream) };
}

describe('logger', () => {
  it('writes JSON lines with the service name and redacts secrets', () => {
    const { lines, logger } = captureLogs();
    logger.info({ config: { password: 'hunter2', KAFKA_BROKERS: ['a'] } }, 'started');
    expect(lines[0]).toMatchObject({
      service: 'test-svc',
      msg: 'started',
      config: { password: '[redacted]' },
    });
    expect(JSON.stringify(lines)).not.toContain('hunter2');
  });
});

describe('ServiceRuntime', () => {
  async function started() {
    const { lines, logger } = captureLogs();
    const signals = new EventEmitter();
    const exits: number[] = [];
    const runtime = new ServiceRuntime({
      name: 'test-svc',
      logger,
      port: 0,
      host: '127.0.0.1',
      signals,
      exit: (c) => exits.push(c),
      shutdownTimeoutMs: 2000,
    });
    const port = await runtime.start();
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    return { runtime, signals, exits, get, lines };
  }

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    const { runtime, get } = await started();
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(503);
    runtime.setReady(true);
    let connected = false;
    runtime.addReadinessCheck('kafka', () => connected);
    expect(JSON.parse((await get('/readyz')).body)).toEqual({ status: 'not ready', waiting: ['kafka'] });
    connected = true;
    expect((await get('/readyz')).status).toBe(200);
    const processed = runtime.counter('pdm_messages_total', 'Messages processed', ['outcome']);
    processed.inc({ outcome: 'ok' }, 3);
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('pdm_messages_total{outcome="ok",service="test-svc"} 3');
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
    expect((await get('/nope')).status).toBe(404);
    runtime.fail('consumer crashed');
    expect((await get('/healthz')).status).toBe(503);
    await runtime.shutdown('test');
  });

  it('on SIGTERM: not ready, stop hooks last-first, endpoint closed, exit 0', async () => {
    const { runtime, signals, exits, get } = await started();
    runtime.setReady(true);
    const order: string[] = [];
    let release!: () => void;
    runtime.onStop('http-client', () => void order.push('client'));
    runtime.onStop('consumer', async () => {
      order.push('consumer stopping');
      await new Promise<void>((r) => (release = r));
      order.push('consumer stopped');
    });
    signals.emit('SIGTERM', 'SIGTERM');
    await new Promise((r) => setTimeout(r, 20));
    expect((await get('/readyz')).status).toBe(503);
    expect(exits).toEqual([]);
    release();
    await runtime.shutdown('again');
    expect(order).toEqual(['consumer stopping', 'consumer stopped', 'client']);
    expect(exits).toEqual([0]);
    await expect(get('/healthz')).rejects.toThrow();
  });

  it('exits 1 when a stop hook fails or hangs past the timeout', async () => {
    const failing = await started();
    failing.runtime.onStop('bad', () => {
      throw new Error('boom');
    });
    await failing.runtime.shutdown('test');
    expect(failing.exits).toEqual([1]);

    const { logger } = captureLogs();
    const exits: number[] = [];
    const hanging = new ServiceRuntime({
      name: 'x',
      logger,
      port: 0,
      host: '127.0.0.1',
      signals: new EventEmitter(),
      exit: (c) => exits.push(c),
      shutdownTimeoutMs: 50,
      defaultMetrics: false,
    });
    await hanging.start();
    hanging.onStop('hang', () => new Promise(() => undefined));
    await hanging.shutdown('test');
    expect(exits).toEqual([1]);
  });
});

describe('retryWithBackoff', () => {
  it('grows the delay exponentially up to the cap', () => {
    const opts = { initialMs: 100, maxMs: 1000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(0, { initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 0)).toBe(50);
  });

  it('retries retriable failures and gives up on others', async () => {
    let calls = 0;
    const result = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error('broker away'), { retriable: true });
        return 'done';
      },
      { initialMs: 1, maxMs: 2, isRetriable: (e) => (e as { retriable?: boolean }).retriable === true },
    );
    expect([result, calls]).toEqual(['done', 3]);
    await expect(
      retryWithBackoff(
        async () => {
          throw new Error('poison');
        },
        { initialMs: 1, maxMs: 2, isRetriable: () => false },
      ),
    ).rejects.toThrow('poison');
  });
});
