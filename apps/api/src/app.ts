import 'reflect-metadata';
import { ValidationPipe, type INestApplication, type LoggerService, type LogLevel, type ValidationError } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import { ApiExceptionFilter } from './common/api-exception.filter.js';
import { ApiErrorDto } from './common/api-error.dto.js';
import { CommonError } from './common/domain-error.js';
import { installJsonBody } from './common/json-body.js';
import { installStripeWebhookRawBody } from './billing/raw-body.js';
import { ApiMetrics } from './metrics/api-metrics.js';
import { installHttpMetrics } from './metrics/http-metrics.js';
import type { AppConfig } from './config/config.js';

export { loadConfig, ConfigError, type AppConfig } from './config/config.js';
export { runMigrations, createDataSource } from './database/data-source.js';
export { seedDemo, type SeedOptions, type SeedResult } from './database/seed.js';

export interface BuildAppOptions {
  /** Nest log levels; false silences Nest's logger (tests); a LoggerService receives every line (tests that read the log). Default: log, warn, error. */
  logger?: LogLevel[] | false | LoggerService;
  /** Build without connecting to PostgreSQL or NATS (for writing the OpenAPI document). */
  offline?: boolean;
}

/** Build the API (not yet listening) from a validated configuration. */
export async function buildApp(config: AppConfig, options: BuildAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register({ config, offline: options.offline }), {
    bodyParser: false,
    logger: options.logger ?? ['log', 'warn', 'error'],
    abortOnError: false,
  });
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  installHttpMetrics(app.getHttpAdapter().getInstance(), app.get(ApiMetrics));
  installStripeWebhookRawBody(app.getHttpAdapter().getInstance());
  installJsonBody(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new ApiExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => validationError(errors),
    }),
  );
  app.enableShutdownHooks();
  setupOpenApi(app);
  return app;
}

export interface RunningApi {
  app: INestApplication;
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  close(): Promise<void>;
}

/** Build, listen on config.host:config.port (0 = any free port) and return the base URL. */
export async function startApi(config: AppConfig, options: BuildAppOptions = {}): Promise<RunningApi> {
  const app = await buildApp(config, options);
  await app.listen(config.port, config.host);
  const address = app.getHttpServer().address() as { port: number };
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return { app, url: `http://${host}:${address.port}`, close: () => app.close() };
}

export function openApiDocument(app: INestApplication): OpenAPIObject {
  const doc = new DocumentBuilder()
    .setTitle('Oblako API')
    .setDescription('Multi-tenant KVM VPS cloud. Errors share one shape: { statusCode, code, message, details? }.')
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'JWT access token or API token (oat_...)' })
    .build();
  return SwaggerModule.createDocument(app, doc, {
    extraModels: [ApiErrorDto],
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
}

function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('api/docs', app, () => openApiDocument(app), { jsonDocumentUrl: 'api/docs-json', useGlobalPrefix: false });
}

function validationError(errors: ValidationError[]): CommonError {
  const details: { field: string; problems: string[] }[] = [];
  const walk = (errs: ValidationError[], path: string) => {
    for (const e of errs) {
      const field = path ? `${path}.${e.property}` : e.property;
      if (e.constraints) {
        details.push({
          field,
          problems: Object.entries(e.constraints).map(([kind, msg]) =>
            kind === 'whitelistValidation' ? `unknown field "${field}"; remove it (see /api/docs for the fields this endpoint takes)` : msg,
          ),
        });
      }
      if (e.children?.length) walk(e.children, field);
    }
  };
  walk(errors, '');
  const summary = details.map((d) => d.problems.join('; ')).join('; ');
  return new CommonError('validation_failed', `The request is not valid: ${summary}.`, details);
}
export { natsOperatorMode, type NatsKeys, type NatsOperatorMode } from './messaging/nats-account.js';
