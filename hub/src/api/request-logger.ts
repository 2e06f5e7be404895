import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * The logger of one request (`req.log`): the root logger's child carrying the request id, built on
 * the request's first log call instead of on every request. Request logging is off
 * (hub/src/api/app.ts), so most requests never log, and a pino child (bindings serialized, redaction
 * set up) is a measurable part of a signed GET (docs/BENCHMARKS.md, "REST: where the time goes").
 * Whatever a request does log carries its request id as before.
 */
export class RequestLogger implements FastifyBaseLogger {
  private built: FastifyBaseLogger | undefined;

  constructor(
    private readonly root: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  private get logger(): FastifyBaseLogger {
    return (this.built ??= this.root.child(this.bindings, this.options));
  }

  get level(): string {
    return this.built?.level ?? this.options.level ?? this.root.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }

  private write(level: Exclude<Level, 'silent'>, args: unknown[]): void {
    const logger = this.logger;
    Reflect.apply(logger[level], logger, args);
  }
}

/** fastify's `childLoggerFactory`: a request logger that builds its pino child only when used. */
export function requestLoggerFactory(root: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(root, bindings, options);
}
