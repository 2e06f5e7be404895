import { streamTopics, topics } from '@edgehub/shared';
import type { Client, Subscription } from 'aedes';
import type { ApplicationRecord } from '../../registry/records.js';
import type { AuthorizeSubscribeHook, HookContext } from './context.js';

type Done = Parameters<AuthorizeSubscribeHook>[2];

/** Applications subscribe to the stream of their organizations; devices to their own topics. */
export function authorizeSubscribeHook(ctx: HookContext): AuthorizeSubscribeHook {
  return (client, sub, done) => {
    const app = ctx.apps.get(client);
    if (app) authorizeApplication(ctx, app, sub, done);
    else authorizeDevice(ctx, client, sub, done);
  };
}

/** An application sees only organizations it is registered in (the tenant boundary). */
function authorizeApplication(ctx: HookContext, app: ApplicationRecord, sub: Subscription, done: Done): void {
  const orgId = streamTopics.orgOf(sub.topic);
  if (!orgId) return done(null, null);
  ctx.deps.registry.applications.isRegistered(orgId, app.appId).then(
    (yes) => done(null, yes ? sub : null),
    () => done(null, null),
  );
}

function authorizeDevice(ctx: HookContext, client: Client, sub: Subscription, done: Done): void {
  const session = ctx.sessions.ofClient(client);
  const owner = topics.ownerOf(sub.topic);
  const refuse = () => {
    ctx.deps.metrics?.aclRefusals.inc({ decision: 'subscribe' });
    done(null, null);
  };
  if (!session || !owner) return refuse();
  if (ctx.router.authorize(session, owner)) return done(null, sub);
  // A gateway may subscribe ahead of login to the topics of sub-devices in its topology: the
  // Node SDK re-subscribes them before it logs the sub-devices back in (docs/ENOS-PROTOCOL.md §12).
  if (session.device.productType !== 'Gateway' || owner.namespace !== 'sys') return refuse();
  ctx.deps.registry.devices.byTriple(owner.pk, owner.dk).then(
    (d) => (d && d.gatewayAssetId === session.device.assetId ? done(null, sub) : refuse()),
    () => refuse(),
  );
}
