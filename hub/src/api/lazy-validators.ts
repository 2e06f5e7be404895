import { createRequire } from 'node:module';
import type * as AjvCompilerModule from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

/**
 * Route validators compiled on a route's first request instead of at start-up.
 *
 * Fastify compiles every route's JSON schemas with Ajv when the server gets ready; with the hub's
 * few hundred routes that was the largest part of `npm start` (docs/BENCHMARKS.md, "Start-up:
 * where the time goes"). This factory hands Fastify a validator per route part that compiles the
 * schema with Fastify's own compiler and the same Ajv options the first time it is called, then
 * calls that. Requests see the same validation and the same errors; a route nobody calls costs
 * nothing. `compilePending()` compiles every validator not compiled yet (tests use it to prove
 * every route schema compiles).
 *
 * A custom compiler makes Fastify skip its lower-casing of header schemas, so header schemas must
 * name their headers in lower case already: this is checked when the route is registered.
 */
declare module 'fastify' {
  interface FastifyInstance {
    /** Compiles every route validator not compiled yet (hub/src/api/lazy-validators.ts); throws a schema's compile error. */
    compileRouteValidators(): void;
  }
}

type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type RouteSchema = { schema: unknown; method?: string; url?: string; httpPart?: string };
type Compile = (route: RouteSchema) => Validate;
type BuildValidator = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;

export interface LazyValidators {
  buildValidator: BuildValidator;
  /** Compiles every validator built so far and not called yet; throws what a compile throws. */
  compilePending: () => void;
}

export function lazyValidators(): LazyValidators {
  const pending = new Set<() => Validate>();
  const buildValidator = (externalSchemas: unknown, options: unknown): Compile => {
    // Fastify's own compiler, with Ajv, is loaded when the first validator is needed.
    let eager: Compile | undefined;
    const compile = (route: RouteSchema) => (eager ??= ajvCompiler()(externalSchemas, options))(route);
    return (route: RouteSchema) => {
      if (route.httpPart === 'headers') assertLowerCaseHeaders(route);
      let compiled: Validate | undefined;
      const force = () => {
        pending.delete(force);
        return (compiled ??= compile(route));
      };
      pending.add(force);
      const validate: Validate = (data: unknown) => {
        const v = compiled ?? force();
        const result = v(data);
        validate.errors = v.errors;
        return result;
      };
      return validate;
    };
  };
  return {
    buildValidator: buildValidator as unknown as BuildValidator,
    compilePending: () => {
      for (const force of [...pending]) force();
    },
  };
}

/** Fastify's default validator compiler (@fastify/ajv-compiler), loaded on first use. */
function ajvCompiler(): (externalSchemas: unknown, options: unknown) => Compile {
  const { AjvCompiler } = createRequire(import.meta.url)('@fastify/ajv-compiler') as typeof AjvCompilerModule;
  return AjvCompiler() as unknown as (externalSchemas: unknown, options: unknown) => Compile;
}

function assertLowerCaseHeaders(route: RouteSchema): void {
  const s = route.schema as { properties?: Record<string, unknown>; required?: unknown[] } | null;
  const names = [...Object.keys(s?.properties ?? {}), ...(s?.required ?? []).filter((n): n is string => typeof n === 'string')];
  const upper = names.find((n) => n !== n.toLowerCase());
  if (upper !== undefined)
    throw new Error(`${route.method ?? ''} ${route.url ?? ''}: header schema names "${upper}"; write header names in lower case`);
}
