import { codes, EnosError } from './errors.js';

/**
 * The EnOS MQTT topic catalogue (docs/ENOS-PROTOCOL.md §4.1, §4.2): builders, the parser and the
 * method each request must carry. Nobody concatenates a topic by hand.
 *
 * `{pk}/{dk}` is the device the message is about; `/ext/session/…` topics always carry the
 * gateway's keys (§4). Every request's reply is the topic + `_reply` (§3).
 */

export type Namespace = 'sys' | 'ext/session';
export type Direction = 'up' | 'down';

/** Kinds with a fixed path below `{pk}/{dk}/`. */
export type StaticTopicKind =
  // §4.1 upstream
  | 'measurepointPost'
  | 'measurepointPostBatch'
  | 'measurepointResume'
  | 'measurepointResumeBatch'
  | 'upRaw'
  | 'attributeUpdate'
  | 'attributeQuery'
  | 'attributeDelete'
  | 'tagUpdate'
  | 'tagQuery'
  | 'tagDelete'
  | 'tslTemplateGet'
  | 'deviceRegister'
  | 'topoAdd'
  | 'topoDelete'
  | 'topoGet'
  | 'combineLogin'
  | 'combineLoginBatch'
  | 'combineLogout'
  | 'otaInform'
  | 'otaProgress'
  | 'otaGetVersion'
  | 'otaRequest'
  | 'connectionStatePost'
  | 'logPost'
  | 'networkStatusReport'
  // §4.2 downstream
  | 'measurepointSet'
  | 'measurepointGet'
  | 'downRaw'
  | 'otaUpgrade'
  | 'activateInfo'
  | 'combineEnable'
  | 'combineDisable'
  | 'combineDelete'
  | 'thingEnable'
  | 'thingDisable'
  | 'thingDelete';

export type TopicKind = StaticTopicKind | 'eventPost' | 'serviceInvoke';

/** What identifies a topic: enough to build it. */
export type TopicRef =
  | { kind: StaticTopicKind; pk: string; dk: string }
  | { kind: 'eventPost'; pk: string; dk: string; eventId: string }
  | { kind: 'serviceInvoke'; pk: string; dk: string; serviceId: string };

interface TopicFacts {
  isReply: boolean;
  namespace: Namespace;
  /** Direction of the message on THIS topic: a reply travels opposite to its request. */
  direction: Direction;
  /** The `method` a request on this topic must carry (§3, 1260). Absent on replies and raw topics. */
  method?: string;
}

export type ParsedTopic = TopicRef & TopicFacts;

interface Spec {
  namespace: Namespace;
  path: string;
  /** Direction of the request. */
  direction: Direction;
  /** Undefined for the raw passthrough topics, which carry no JSON envelope (§3). */
  method: string | undefined;
}

const specs: Readonly<Record<StaticTopicKind, Spec>> = {
  measurepointPost: up('sys', 'thing/measurepoint/post', 'thing.measurepoint.post'),
  measurepointPostBatch: up('sys', 'thing/measurepoint/post/batch', 'thing.measurepoint.post.batch'),
  measurepointResume: up('sys', 'thing/measurepoint/resume', 'thing.measurepoint.resume'),
  measurepointResumeBatch: up('sys', 'thing/measurepoint/resume/batch', 'thing.measurepoint.resume.batch'),
  upRaw: up('sys', 'thing/model/up_raw', undefined),
  attributeUpdate: up('sys', 'thing/attribute/update', 'thing.attribute.update'),
  attributeQuery: up('sys', 'thing/attribute/query', 'thing.attribute.query'),
  attributeDelete: up('sys', 'thing/attribute/delete', 'thing.attribute.delete'),
  tagUpdate: up('sys', 'thing/tag/update', 'thing.tag.update'),
  tagQuery: up('sys', 'thing/tag/query', 'thing.tag.query'),
  tagDelete: up('sys', 'thing/tag/delete', 'thing.tag.delete'),
  tslTemplateGet: up('sys', 'thing/tsltemplate/get', 'thing.tsltemplate.get'),
  deviceRegister: up('sys', 'thing/device/register', 'thing.device.register'),
  topoAdd: up('sys', 'thing/topo/add', 'thing.topo.add'),
  topoDelete: up('sys', 'thing/topo/delete', 'thing.topo.delete'),
  topoGet: up('sys', 'thing/topo/get', 'thing.topo.get'),
  combineLogin: up('ext/session', 'combine/login', 'combine.login'),
  combineLoginBatch: up('ext/session', 'combine/login/batch', 'combine.login.batch'),
  combineLogout: up('ext/session', 'combine/logout', 'combine.logout'),
  otaInform: up('sys', 'ota/device/inform', 'ota.device.inform'),
  otaProgress: up('sys', 'ota/device/progress', 'ota.device.progress'),
  otaGetVersion: up('sys', 'ota/device/getversion', 'ota.device.getversion'),
  otaRequest: up('sys', 'ota/device/request', 'ota.device.request'), // constant only in the SDKs [UNC]
  connectionStatePost: up('sys', 'connection/state/post', 'connection.state.post'),
  logPost: up('sys', 'thing/log/post', 'thing.log.post'),
  networkStatusReport: up('sys', 'network/status/report', 'network.status.report'),

  measurepointSet: down('sys', 'thing/service/measurepoint/set', 'thing.service.measurepoint.set'),
  measurepointGet: down('sys', 'thing/service/measurepoint/get', 'thing.service.measurepoint.get'),
  downRaw: down('sys', 'thing/model/down_raw', undefined),
  otaUpgrade: down('sys', 'ota/device/upgrade', 'ota.device.upgrade'),
  activateInfo: down('ext/session', 'thing/activate/info', 'thing.activate.info'),
  combineEnable: down('ext/session', 'combine/enable', 'combine.enable'),
  combineDisable: down('ext/session', 'combine/disable', 'combine.disable'),
  combineDelete: down('ext/session', 'combine/delete', 'combine.delete'),
  thingEnable: down('sys', 'thing/enable', 'thing.enable'),
  thingDisable: down('sys', 'thing/disable', 'thing.disable'),
  thingDelete: down('sys', 'thing/delete', 'thing.delete'),
};

function up(namespace: Namespace, path: string, method: string | undefined): Spec {
  return { namespace, path, direction: 'up', method };
}
function down(namespace: Namespace, path: string, method: string | undefined): Spec {
  return { namespace, path, direction: 'down', method };
}

// Static paths win over the `thing/service/{serviceId}` pattern, so measurepoint set/get are
// never taken for a service invocation (§4.2 note; Java excludes them explicitly).
const byPath = new Map<string, StaticTopicKind>(
  (Object.keys(specs) as StaticTopicKind[]).map((kind) => [`${specs[kind].namespace}:${specs[kind].path}`, kind]),
);

const REPLY = '_reply';

/** A topic level we put or accept in a key position: non-empty, no level separator, no wildcard. */
function isValidTopicSegment(s: string): boolean {
  return s !== '' && !/[/+#\u0000]/.test(s);
}

function segment(name: string, value: string): string {
  if (typeof value !== 'string' || !isValidTopicSegment(value)) {
    throw new EnosError(codes.invalidArgument, `Invalid Argument ${name}: not usable in an MQTT topic`);
  }
  return value;
}

function prefix(namespace: Namespace, pk: string, dk: string): string {
  return `/${namespace}/${segment('productKey', pk)}/${segment('deviceKey', dk)}`;
}

/** Builds the topic of a ref. Throws EnosError 99400 on an empty key or one holding `/`, `+`, `#`. */
function build(ref: TopicRef): string {
  switch (ref.kind) {
    case 'eventPost':
      return `${prefix('sys', ref.pk, ref.dk)}/thing/event/${segment('eventId', ref.eventId)}/post`;
    case 'serviceInvoke':
      return `${prefix('sys', ref.pk, ref.dk)}/thing/service/${segment('serviceId', ref.serviceId)}`;
    default: {
      const spec = specs[ref.kind];
      return `${prefix(spec.namespace, ref.pk, ref.dk)}/${spec.path}`;
    }
  }
}

/** The method a request on this topic must carry; undefined for raw passthrough topics. */
function methodFor(ref: TopicRef): string | undefined {
  switch (ref.kind) {
    case 'eventPost':
      return `thing.event.${ref.eventId}.post`;
    case 'serviceInvoke':
      return `thing.service.${ref.serviceId}`;
    default:
      return specs[ref.kind].method;
  }
}

function requestDirection(kind: TopicKind): Direction {
  if (kind === 'eventPost') return 'up';
  if (kind === 'serviceInvoke') return 'down';
  return specs[kind].direction;
}

function namespaceOf(kind: TopicKind): Namespace {
  return kind === 'eventPost' || kind === 'serviceInvoke' ? 'sys' : specs[kind].namespace;
}

interface Split {
  namespace: Namespace;
  pk: string;
  dk: string;
  rest: string[];
}

function split(topic: string): Split | undefined {
  let namespace: Namespace;
  let tail: string;
  if (topic.startsWith('/sys/')) {
    namespace = 'sys';
    tail = topic.slice('/sys/'.length);
  } else if (topic.startsWith('/ext/session/')) {
    namespace = 'ext/session';
    tail = topic.slice('/ext/session/'.length);
  } else {
    return undefined;
  }
  const [pk, dk, ...rest] = tail.split('/');
  if (pk === undefined || dk === undefined || rest.length === 0) return undefined;
  if (!isValidTopicSegment(pk) || !isValidTopicSegment(dk)) return undefined;
  return { namespace, pk, dk, rest };
}

/** Parses a concrete (publish) topic; undefined for anything that is not an EnOS device topic. */
function parse(topic: string): ParsedTopic | undefined {
  if (typeof topic !== 'string') return undefined;
  const isReply = topic.endsWith(REPLY);
  const s = split(isReply ? topic.slice(0, -REPLY.length) : topic);
  if (!s || !s.rest.every(isValidTopicSegment)) return undefined;
  const ref = match(s);
  if (!ref) return undefined;
  const reqDir = requestDirection(ref.kind);
  const facts: TopicFacts = {
    isReply,
    namespace: namespaceOf(ref.kind),
    direction: isReply ? (reqDir === 'up' ? 'down' : 'up') : reqDir,
  };
  const method = isReply ? undefined : methodFor(ref);
  if (method !== undefined) facts.method = method;
  return { ...ref, ...facts };
}

function match({ namespace, pk, dk, rest }: Split): TopicRef | undefined {
  const kind = byPath.get(`${namespace}:${rest.join('/')}`);
  if (kind) return { kind, pk, dk };
  if (namespace !== 'sys') return undefined;
  const [a, b, c, d, ...more] = rest;
  if (more.length > 0 || a !== 'thing' || c === undefined) return undefined;
  if (b === 'event' && d === 'post') return { kind: 'eventPost', pk, dk, eventId: c };
  if (b === 'service' && d === undefined) return { kind: 'serviceInvoke', pk, dk, serviceId: c };
  return undefined;
}

export interface TopicOwner {
  namespace: Namespace;
  pk: string;
  dk: string;
}

/**
 * The device whose namespace a topic or subscription filter lies in, for ACL (§4.3):
 * `/sys/{pk}/{dk}/…` or `/ext/session/{pk}/{dk}/…` with literal keys. Wildcards are allowed
 * below the keys only (C subscribes `…/thing/service/+`), never in pk/dk.
 */
function ownerOf(topic: string): TopicOwner | undefined {
  if (typeof topic !== 'string') return undefined;
  const s = split(topic);
  if (!s || s.rest.some((r) => r === '')) return undefined;
  return { namespace: s.namespace, pk: s.pk, dk: s.dk };
}

/** Every request is answered on its topic + `_reply` (§3). */
function reply(topic: string): string {
  return topic + REPLY;
}

/** The request topic a `_reply` topic answers; undefined when it is not a reply topic. */
function requestOf(replyTopic: string): string | undefined {
  return replyTopic.endsWith(REPLY) ? replyTopic.slice(0, -REPLY.length) : undefined;
}

type PkDk = (pk: string, dk: string) => string;
const fixed =
  (kind: StaticTopicKind): PkDk =>
  (pk, dk) =>
    build({ kind, pk, dk });

export const topics = {
  // §4.1 upstream, device-scoped
  measurepointPost: fixed('measurepointPost'),
  measurepointPostBatch: fixed('measurepointPostBatch'),
  measurepointResume: fixed('measurepointResume'),
  measurepointResumeBatch: fixed('measurepointResumeBatch'),
  eventPost: (pk: string, dk: string, eventId: string): string => build({ kind: 'eventPost', pk, dk, eventId }),
  upRaw: fixed('upRaw'),
  attributeUpdate: fixed('attributeUpdate'),
  attributeQuery: fixed('attributeQuery'),
  attributeDelete: fixed('attributeDelete'),
  tagUpdate: fixed('tagUpdate'),
  tagQuery: fixed('tagQuery'),
  tagDelete: fixed('tagDelete'),
  tslTemplateGet: fixed('tslTemplateGet'),
  otaInform: fixed('otaInform'),
  otaProgress: fixed('otaProgress'),
  otaGetVersion: fixed('otaGetVersion'),
  otaRequest: fixed('otaRequest'),
  connectionStatePost: fixed('connectionStatePost'),
  logPost: fixed('logPost'),
  networkStatusReport: fixed('networkStatusReport'),
  // §4.1 upstream, gateway
  deviceRegister: fixed('deviceRegister'),
  topoAdd: fixed('topoAdd'),
  topoDelete: fixed('topoDelete'),
  topoGet: fixed('topoGet'),
  combineLogin: fixed('combineLogin'),
  combineLoginBatch: fixed('combineLoginBatch'),
  combineLogout: fixed('combineLogout'),
  // §4.2 downstream
  serviceInvoke: (pk: string, dk: string, serviceId: string): string => build({ kind: 'serviceInvoke', pk, dk, serviceId }),
  measurepointSet: fixed('measurepointSet'),
  measurepointGet: fixed('measurepointGet'),
  downRaw: fixed('downRaw'),
  otaUpgrade: fixed('otaUpgrade'),
  activateInfo: fixed('activateInfo'),
  combineEnable: fixed('combineEnable'),
  combineDisable: fixed('combineDisable'),
  combineDelete: fixed('combineDelete'),
  thingEnable: fixed('thingEnable'),
  thingDisable: fixed('thingDisable'),
  thingDelete: fixed('thingDelete'),

  build,
  methodFor,
  reply,
  requestOf,
  parse,
  ownerOf,
  isValidSegment: isValidTopicSegment,
  /** Every kind with a fixed path, for exhaustive iteration (tests, routing tables). */
  staticKinds: Object.keys(specs) as readonly StaticTopicKind[],
} as const;
