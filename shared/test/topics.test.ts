import { describe, expect, it } from 'vitest';
import { EnosError, topics } from '../src/index.js';
import type { ParsedTopic, TopicRef } from '../src/index.js';

const pk = 'x4jwTsoz';
const dk = 'xGKFwfkEXz';

// The catalogue of docs/ENOS-PROTOCOL.md §4.1/§4.2: topic, method and who sends the request.
const catalogue: Array<{ topic: string; ref: TopicRef; method: string | undefined; direction: 'up' | 'down'; build: () => string }> = [
  {
    build: () => topics.measurepointPost(pk, dk),
    ref: { kind: 'measurepointPost', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/measurepoint/post`,
    method: 'thing.measurepoint.post',
    direction: 'up',
  },
  {
    build: () => topics.measurepointPostBatch(pk, dk),
    ref: { kind: 'measurepointPostBatch', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/measurepoint/post/batch`,
    method: 'thing.measurepoint.post.batch',
    direction: 'up',
  },
  {
    build: () => topics.measurepointResume(pk, dk),
    ref: { kind: 'measurepointResume', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/measurepoint/resume`,
    method: 'thing.measurepoint.resume',
    direction: 'up',
  },
  {
    build: () => topics.measurepointResumeBatch(pk, dk),
    ref: { kind: 'measurepointResumeBatch', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/measurepoint/resume/batch`,
    method: 'thing.measurepoint.resume.batch',
    direction: 'up',
  },
  {
    build: () => topics.eventPost(pk, dk, 'overheat'),
    ref: { kind: 'eventPost', pk, dk, eventId: 'overheat' },
    topic: `/sys/${pk}/${dk}/thing/event/overheat/post`,
    method: 'thing.event.overheat.post',
    direction: 'up',
  },
  {
    build: () => topics.upRaw(pk, dk),
    ref: { kind: 'upRaw', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/model/up_raw`,
    method: undefined,
    direction: 'up',
  },
  {
    build: () => topics.attributeUpdate(pk, dk),
    ref: { kind: 'attributeUpdate', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/attribute/update`,
    method: 'thing.attribute.update',
    direction: 'up',
  },
  {
    build: () => topics.attributeQuery(pk, dk),
    ref: { kind: 'attributeQuery', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/attribute/query`,
    method: 'thing.attribute.query',
    direction: 'up',
  },
  {
    build: () => topics.attributeDelete(pk, dk),
    ref: { kind: 'attributeDelete', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/attribute/delete`,
    method: 'thing.attribute.delete',
    direction: 'up',
  },
  {
    build: () => topics.tagUpdate(pk, dk),
    ref: { kind: 'tagUpdate', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/tag/update`,
    method: 'thing.tag.update',
    direction: 'up',
  },
  {
    build: () => topics.tagQuery(pk, dk),
    ref: { kind: 'tagQuery', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/tag/query`,
    method: 'thing.tag.query',
    direction: 'up',
  },
  {
    build: () => topics.tagDelete(pk, dk),
    ref: { kind: 'tagDelete', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/tag/delete`,
    method: 'thing.tag.delete',
    direction: 'up',
  },
  {
    build: () => topics.tslTemplateGet(pk, dk),
    ref: { kind: 'tslTemplateGet', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/tsltemplate/get`,
    method: 'thing.tsltemplate.get',
    direction: 'up',
  },
  {
    build: () => topics.deviceRegister(pk, dk),
    ref: { kind: 'deviceRegister', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/device/register`,
    method: 'thing.device.register',
    direction: 'up',
  },
  {
    build: () => topics.topoAdd(pk, dk),
    ref: { kind: 'topoAdd', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/topo/add`,
    method: 'thing.topo.add',
    direction: 'up',
  },
  {
    build: () => topics.topoDelete(pk, dk),
    ref: { kind: 'topoDelete', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/topo/delete`,
    method: 'thing.topo.delete',
    direction: 'up',
  },
  {
    build: () => topics.topoGet(pk, dk),
    ref: { kind: 'topoGet', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/topo/get`,
    method: 'thing.topo.get',
    direction: 'up',
  },
  {
    build: () => topics.combineLogin(pk, dk),
    ref: { kind: 'combineLogin', pk, dk },
    topic: `/ext/session/${pk}/${dk}/combine/login`,
    method: 'combine.login',
    direction: 'up',
  },
  {
    build: () => topics.combineLoginBatch(pk, dk),
    ref: { kind: 'combineLoginBatch', pk, dk },
    topic: `/ext/session/${pk}/${dk}/combine/login/batch`,
    method: 'combine.login.batch',
    direction: 'up',
  },
  {
    build: () => topics.combineLogout(pk, dk),
    ref: { kind: 'combineLogout', pk, dk },
    topic: `/ext/session/${pk}/${dk}/combine/logout`,
    method: 'combine.logout',
    direction: 'up',
  },
  {
    build: () => topics.otaInform(pk, dk),
    ref: { kind: 'otaInform', pk, dk },
    topic: `/sys/${pk}/${dk}/ota/device/inform`,
    method: 'ota.device.inform',
    direction: 'up',
  },
  {
    build: () => topics.otaProgress(pk, dk),
    ref: { kind: 'otaProgress', pk, dk },
    topic: `/sys/${pk}/${dk}/ota/device/progress`,
    method: 'ota.device.progress',
    direction: 'up',
  },
  {
    build: () => topics.otaGetVersion(pk, dk),
    ref: { kind: 'otaGetVersion', pk, dk },
    topic: `/sys/${pk}/${dk}/ota/device/getversion`,
    method: 'ota.device.getversion',
    direction: 'up',
  },
  {
    build: () => topics.otaRequest(pk, dk),
    ref: { kind: 'otaRequest', pk, dk },
    topic: `/sys/${pk}/${dk}/ota/device/request`,
    method: 'ota.device.request',
    direction: 'up',
  },
  {
    build: () => topics.connectionStatePost(pk, dk),
    ref: { kind: 'connectionStatePost', pk, dk },
    topic: `/sys/${pk}/${dk}/connection/state/post`,
    method: 'connection.state.post',
    direction: 'up',
  },
  {
    build: () => topics.logPost(pk, dk),
    ref: { kind: 'logPost', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/log/post`,
    method: 'thing.log.post',
    direction: 'up',
  },
  {
    build: () => topics.networkStatusReport(pk, dk),
    ref: { kind: 'networkStatusReport', pk, dk },
    topic: `/sys/${pk}/${dk}/network/status/report`,
    method: 'network.status.report',
    direction: 'up',
  },

  {
    build: () => topics.serviceInvoke(pk, dk, 'reboot'),
    ref: { kind: 'serviceInvoke', pk, dk, serviceId: 'reboot' },
    topic: `/sys/${pk}/${dk}/thing/service/reboot`,
    method: 'thing.service.reboot',
    direction: 'down',
  },
  {
    build: () => topics.measurepointSet(pk, dk),
    ref: { kind: 'measurepointSet', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/service/measurepoint/set`,
    method: 'thing.service.measurepoint.set',
    direction: 'down',
  },
  {
    build: () => topics.measurepointGet(pk, dk),
    ref: { kind: 'measurepointGet', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/service/measurepoint/get`,
    method: 'thing.service.measurepoint.get',
    direction: 'down',
  },
  {
    build: () => topics.downRaw(pk, dk),
    ref: { kind: 'downRaw', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/model/down_raw`,
    method: undefined,
    direction: 'down',
  },
  {
    build: () => topics.otaUpgrade(pk, dk),
    ref: { kind: 'otaUpgrade', pk, dk },
    topic: `/sys/${pk}/${dk}/ota/device/upgrade`,
    method: 'ota.device.upgrade',
    direction: 'down',
  },
  {
    build: () => topics.activateInfo(pk, dk),
    ref: { kind: 'activateInfo', pk, dk },
    topic: `/ext/session/${pk}/${dk}/thing/activate/info`,
    method: 'thing.activate.info',
    direction: 'down',
  },
  {
    build: () => topics.combineEnable(pk, dk),
    ref: { kind: 'combineEnable', pk, dk },
    topic: `/ext/session/${pk}/${dk}/combine/enable`,
    method: 'combine.enable',
    direction: 'down',
  },
  {
    build: () => topics.combineDisable(pk, dk),
    ref: { kind: 'combineDisable', pk, dk },
    topic: `/ext/session/${pk}/${dk}/combine/disable`,
    method: 'combine.disable',
    direction: 'down',
  },
  {
    build: () => topics.combineDelete(pk, dk),
    ref: { kind: 'combineDelete', pk, dk },
    topic: `/ext/session/${pk}/${dk}/combine/delete`,
    method: 'combine.delete',
    direction: 'down',
  },
  {
    build: () => topics.thingEnable(pk, dk),
    ref: { kind: 'thingEnable', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/enable`,
    method: 'thing.enable',
    direction: 'down',
  },
  {
    build: () => topics.thingDisable(pk, dk),
    ref: { kind: 'thingDisable', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/disable`,
    method: 'thing.disable',
    direction: 'down',
  },
  {
    build: () => topics.thingDelete(pk, dk),
    ref: { kind: 'thingDelete', pk, dk },
    topic: `/sys/${pk}/${dk}/thing/delete`,
    method: 'thing.delete',
    direction: 'down',
  },
];

const keysOf = (p: ParsedTopic | undefined) =>
  p && {
    kind: p.kind,
    pk: p.pk,
    dk: p.dk,
    ...('eventId' in p ? { eventId: p.eventId } : {}),
    ...('serviceId' in p ? { serviceId: p.serviceId } : {}),
  };

describe('topic catalogue (§4.1, §4.2)', () => {
  it('covers every kind with a fixed path', () => {
    const covered = new Set(catalogue.map((c) => c.ref.kind));
    for (const kind of topics.staticKinds) expect(covered.has(kind), kind).toBe(true);
  });

  it.each(catalogue.map((c) => [c.ref.kind, c] as const))('%s: builds the documented topic and parses back', (_kind, c) => {
    expect(c.build()).toBe(c.topic);
    expect(topics.build(c.ref)).toBe(c.topic);
    expect(topics.methodFor(c.ref)).toBe(c.method);

    const parsed = topics.parse(c.topic);
    expect(keysOf(parsed)).toEqual(c.ref);
    expect(parsed?.isReply).toBe(false);
    expect(parsed?.direction).toBe(c.direction);
    expect(parsed?.method).toBe(c.method);
    expect(parsed?.namespace).toBe(c.topic.startsWith('/ext/session/') ? 'ext/session' : 'sys');
  });

  it.each(catalogue.map((c) => [c.ref.kind, c] as const))('%s: the _reply topic parses as the reply', (_kind, c) => {
    const replyTopic = topics.reply(c.topic);
    expect(replyTopic).toBe(`${c.topic}_reply`);
    expect(topics.requestOf(replyTopic)).toBe(c.topic);
    const parsed = topics.parse(replyTopic);
    expect(keysOf(parsed)).toEqual(c.ref);
    expect(parsed?.isReply).toBe(true);
    expect(parsed?.direction).toBe(c.direction === 'up' ? 'down' : 'up');
    // A reply carries no method, so nothing to check it against.
    expect(parsed?.method).toBeUndefined();
  });
});

describe('topics.parse', () => {
  it('reads service ids with dots verbatim (§4.2)', () => {
    expect(topics.parse('/sys/a/b/thing/service/sample.echo')).toMatchObject({
      kind: 'serviceInvoke',
      pk: 'a',
      dk: 'b',
      serviceId: 'sample.echo',
      method: 'thing.service.sample.echo',
    });
    expect(topics.parse('/sys/a/b/thing/service/sample.echo_reply')).toMatchObject({
      kind: 'serviceInvoke',
      serviceId: 'sample.echo',
      isReply: true,
      direction: 'up',
    });
  });

  it('reads event ids with dots verbatim', () => {
    const t = topics.eventPost('a', 'b', 'alarm.high');
    expect(t).toBe('/sys/a/b/thing/event/alarm.high/post');
    expect(topics.parse(t)).toMatchObject({ kind: 'eventPost', eventId: 'alarm.high', method: 'thing.event.alarm.high.post' });
    expect(topics.parse(`${t}_reply`)).toMatchObject({ kind: 'eventPost', eventId: 'alarm.high', isReply: true });
  });

  it('matches measurepoint set/get before the generic service invocation', () => {
    expect(topics.parse('/sys/a/b/thing/service/measurepoint/set')?.kind).toBe('measurepointSet');
    expect(topics.parse('/sys/a/b/thing/service/measurepoint/get')?.kind).toBe('measurepointGet');
    expect(topics.parse('/sys/a/b/thing/service/measurepoint/get_reply')).toMatchObject({ kind: 'measurepointGet', isReply: true });
    // Any other service id is a service invocation.
    expect(topics.parse('/sys/a/b/thing/service/measurepoint.set')).toMatchObject({ kind: 'serviceInvoke', serviceId: 'measurepoint.set' });
  });

  it('keeps the sub-device keys of a sub-device topic (§5.4)', () => {
    expect(topics.parse('/sys/subPk/subDk/thing/measurepoint/post')).toMatchObject({ pk: 'subPk', dk: 'subDk' });
  });

  it.each([
    '',
    '/',
    'sys/a/b/thing/measurepoint/post',
    '/sys',
    '/sys/a',
    '/sys/a/b',
    '/sys/a/b/',
    '/sys//b/thing/measurepoint/post',
    '/sys/a//thing/measurepoint/post',
    '/sys/a/b/thing/measurepoint/post/',
    '/sys/a/b/thing/measurepoint/post/extra',
    '/sys/a/b/thing/measurepoint',
    '/sys/a/b/thing/unknown/post',
    '/sys/+/b/thing/measurepoint/post',
    '/sys/a/#',
    '/sys/a/b/thing/service/+',
    '/sys/a/b/thing/service/',
    '/sys/a/b/thing/service/x/y',
    '/sys/a/b/thing/event//post',
    '/sys/a/b/thing/event/e/post/more',
    '/sys/a/b/thing/event/e',
    '/ext/session/a/b/thing/measurepoint/post',
    '/sys/a/b/combine/login',
    '/ext/session/a/b/thing/service/foo',
    '/ext/register',
    '/ext/error/a/b',
    '/sys/a/integration/measurepoint/post',
    '_reply',
    '/SYS/a/b/thing/measurepoint/post',
    'hello world',
  ])('returns undefined for %j', (t) => {
    expect(topics.parse(t)).toBeUndefined();
  });
});

describe('topic builders refuse unusable keys', () => {
  const bad = ['', 'a+b', '#', 'a/b', '+'];
  it.each(bad)('pk/dk %j', (v) => {
    expect(() => topics.measurepointPost(v, 'dk')).toThrow(EnosError);
    expect(() => topics.combineLogin('pk', v)).toThrow(EnosError);
    expect(() => topics.build({ kind: 'topoGet', pk: v, dk: v })).toThrow(EnosError);
  });

  it.each(bad)('serviceId / eventId %j', (v) => {
    expect(() => topics.serviceInvoke('pk', 'dk', v)).toThrow(EnosError);
    expect(() => topics.eventPost('pk', 'dk', v)).toThrow(EnosError);
  });

  it('answers 99400 so the REST layer can map it', () => {
    try {
      topics.serviceInvoke('pk', 'dk', 'a/b');
      expect.unreachable();
    } catch (e) {
      expect((e as EnosError).code).toBe(99400);
    }
  });
});

describe('topics.ownerOf (ACL, §4.3)', () => {
  it('finds the device of /sys and /ext/session topics, replies and filters below the keys', () => {
    expect(topics.ownerOf('/sys/p/d/thing/measurepoint/post')).toEqual({ namespace: 'sys', pk: 'p', dk: 'd' });
    expect(topics.ownerOf('/ext/session/gp/gd/combine/login_reply')).toEqual({ namespace: 'ext/session', pk: 'gp', dk: 'gd' });
    expect(topics.ownerOf('/sys/p/d/thing/service/+')).toEqual({ namespace: 'sys', pk: 'p', dk: 'd' });
    expect(topics.ownerOf('/sys/p/d/#')).toEqual({ namespace: 'sys', pk: 'p', dk: 'd' });
    expect(topics.ownerOf('/sys/p/d/thing/event/+/post_reply')).toEqual({ namespace: 'sys', pk: 'p', dk: 'd' });
  });

  it.each([
    '/sys/+/+/#',
    '/sys/p/#',
    '/sys/p/+/thing/measurepoint/post',
    '/sys/#',
    '/#',
    '#',
    '/sys/p/d',
    '/sys/p/d/',
    '/ext/p/d/x',
    '/ext/session/p',
    '/other/p/d/x',
    '/sys//d/x',
  ])('refuses %j', (t) => {
    expect(topics.ownerOf(t)).toBeUndefined();
  });
});
