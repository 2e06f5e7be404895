/**
 * The hub's broker and the edge's local listener both route what a client publishes themselves
 * (in aedes' authorizePublish) and never let it fan out to other subscribers: it is not stored,
 * queued, retained or emitted (docs/ARCHITECTURE.md, "How an MQTT message flows", step 5). aedes
 * has no option for that, so its internal `publish(packet, client, done)` is wrapped here, at this
 * one place: a publish with a client is acknowledged and dropped; the broker's own publishes (no
 * client: $SYS, and what the hub sends to devices) pass unchanged.
 *
 * Typed structurally so that `shared` needs no aedes dependency.
 */
type InternalPublish = (packet: unknown, client: unknown, done?: (err?: Error) => void) => void;

export function keepClientPublishesLocal(broker: object): void {
  const target = broker as { publish: InternalPublish };
  const forward: InternalPublish = target.publish.bind(broker);
  target.publish = (packet, client, done) => {
    if (client && typeof client === 'object') return done?.();
    forward(packet, client, done);
  };
}
