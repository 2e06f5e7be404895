import type { IncomingMessage } from 'node:http';
import type { ConstraintStrategy, Handler, HTTPVersion } from 'find-my-way';
import { queryParamsOf } from './request-query.js';

/**
 * EnOS puts the operation in the query (`/devices?action=create`). A find-my-way constraint on the
 * `action` query parameter lets each action be its own fastify route with its own schema, so the
 * schema is the validation, the documentation and the serializer of that action.
 */
export const actionConstraint: ConstraintStrategy<HTTPVersion.V1, string> = {
  name: 'action',
  storage() {
    const handlers = new Map<string, Handler<HTTPVersion.V1>>();
    return {
      get: (action: string) => handlers.get(action) ?? null,
      set: (action: string, store: Handler<HTTPVersion.V1>) => {
        handlers.set(action, store);
      },
    };
  },
  // find-my-way treats an undefined constraint value as "not derived": only unconstrained routes match.
  // The parse is kept for the signature check (request-query.ts).
  deriveConstraint: ((req: IncomingMessage): string | undefined => {
    if (req.url === undefined || !req.url.includes('?')) return undefined;
    return queryParamsOf(req).get('action') ?? undefined;
  }) as ConstraintStrategy<HTTPVersion.V1, string>['deriveConstraint'],
  validate(value: unknown) {
    if (typeof value !== 'string' || value === '') throw new Error('action constraint must be a non-empty string');
  },
  mustMatchWhenDerived: false,
};
