import type { ConstraintStrategy, Handler, HTTPVersion } from 'find-my-way';

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
  deriveConstraint: ((req: { url?: string }): string | undefined => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if (q < 0) return undefined;
    return new URLSearchParams(url.slice(q + 1)).get('action') ?? undefined;
  }) as ConstraintStrategy<HTTPVersion.V1, string>['deriveConstraint'],
  validate(value: unknown) {
    if (typeof value !== 'string' || value === '') throw new Error('action constraint must be a non-empty string');
  },
  mustMatchWhenDerived: false,
};
