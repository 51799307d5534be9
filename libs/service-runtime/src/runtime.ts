/**
 * What every service process has around its work loop: an HTTP endpoint for probes and metrics, readiness
 * and liveness state, and a graceful shutdown on SIGTERM/SIGINT (stop fetching, let the work loop finish or
 * abandon its in-flight batch without committing, flush logs, exit 0).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EventEmitter } from 'node:events';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface ServiceRuntimeOptions {
  name: string;
  logger: Logger;
  port: number;
  host?: string;
  shutdownTimeoutMs?: number;
  /** Collect process metrics (CPU, memory, event loop lag). Default true. */
  defaultMetrics?: boolean;
  /** Source of signals; default `process`. Tests pass an EventEmitter. */
  signals?: EventEmitter;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
}

/** A stop hook: called once on shutdown, in reverse registration order (last started, first stopped). */
export type StopHook = (reason: string) => Promise<void> | void;

export class ServiceRuntime {
  readonly name: string;
  readonly logger: Logger;
  readonly metrics: Registry;
  private readonly server: Server;
  private readonly options: ServiceRuntimeOptions;
  private readonly stopHooks: { name: string; hook: StopHook }[] = [];
  private readonly readinessChecks = new Map<string, () => boolean>();
  private ready = false;
  private failure: string | null = null;
  private shuttingDown: Promise<void> | null = null;
  private readonly signalHandler = (signal: string) => void this.shutdown(signal);

  constructor(options: ServiceRuntimeOptions) {
    this.options = options;
    this.name = options.name;
    this.logger = options.logger;
    this.metrics = new Registry();
    this.metrics.setDefaultLabels({ service: options.name });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.metrics });
    this.server = createServer((req, res) => {
      void this.handle(req.url ?? '/').then(
        ({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        },
        (error: unknown) => {
          this.logger.error({ err: error }, 'probe endpoint failed');
          res.writeHead(500).end();
        },
      );
    });
  }

  private async handle(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    const json = (status: number, body: object) => ({
      status,
      type: 'application/json',
      body: JSON.stringify(body),
    });
    switch (path) {
      case '/healthz':
        return this.failure === null
          ? json(200, { status: 'ok' })
          : json(503, { status: 'failed', reason: this.failure });
      case '/readyz': {
        const notReady = [...this.readinessChecks].filter(([, check]) => !check()).map(([name]) => name);
        if (!this.ready) notReady.unshift(this.shuttingDown ? 'shutting down' : 'starting');
        return notReady.length === 0
          ? json(200, { status: 'ready' })
          : json(503, { status: 'not ready', waiting: notReady });
      }
      case '/metrics':
        return { status: 200, type: this.metrics.contentType, body: await this.metrics.metrics() };
      default:
        return json(404, { error: 'not found' });
    }
  }

  /** Starts the HTTP endpoint and installs the signal handlers. Returns the bound port. */
  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const signals = this.options.signals ?? process;
    signals.once('SIGTERM', this.signalHandler);
    signals.once('SIGINT', this.signalHandler);
    const port = (this.server.address() as AddressInfo).port;
    this.logger.info({ port }, 'probe and metrics endpoint listening');
    return port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  setReady(ready: boolean): void {
    this.ready = ready;
  }

  /** A named condition that must hold for /readyz (e.g. "kafka consumer joined"). */
  addReadinessCheck(name: string, check: () => boolean): void {
    this.readinessChecks.set(name, check);
  }

  /** Marks the process unhealthy (/healthz 503) so the orchestrator restarts it. */
  fail(reason: string): void {
    this.failure = reason;
    this.logger.error({ reason }, 'service failed');
  }

  onStop(name: string, hook: StopHook): void {
    this.stopHooks.push({ name, hook });
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.metrics] });
  }

  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.metrics] });
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets?: number[],
  ): Histogram<L> {
    return new Histogram({
      name,
      help,
      labelNames,
      registers: [this.metrics],
      ...(buckets ? { buckets } : {}),
    });
  }

  /**
   * Graceful stop (idempotent): not ready, run the stop hooks (last registered first), close the HTTP
   * endpoint, flush logs, exit 0; exit 1 when a hook fails or the whole takes longer than the timeout.
   */
  shutdown(reason: string): Promise<void> {
    this.shuttingDown ??= this.runShutdown(reason);
    return this.shuttingDown;
  }

  private async runShutdown(reason: string): Promise<void> {
    const exit = this.options.exit ?? ((code: number) => process.exit(code));
    this.ready = false;
    this.logger.info({ reason }, 'shutting down');
    let code = 0;
    const timeoutMs = this.options.shutdownTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref();
    });
    const hooks = (async () => {
      for (const { name, hook } of [...this.stopHooks].reverse()) {
        try {
          await hook(reason);
        } catch (error) {
          code = 1;
          this.logger.error({ err: error, hook: name }, 'stop hook failed');
        }
      }
    })();
    if ((await Promise.race([hooks, timeout])) === 'timeout') {
      code = 1;
      this.logger.error({ timeoutMs }, 'shutdown timed out');
    }
    clearTimeout(timer);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    const signals = this.options.signals ?? process;
    signals.off('SIGTERM', this.signalHandler);
    signals.off('SIGINT', this.signalHandler);
    this.logger.info({ code }, 'stopped');
    this.logger.flush();
    exit(code);
  }
}
