import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { windowsErrors } from './errors.js';

/**
 * OMA DM 1.2 SyncML messages as the Windows management endpoint reads and writes them
 * (docs/DEVICE-MANAGEMENT.md, "Windows: SyncML sessions"). XML only (no WBXML). A message is
 * parsed and validated whole before anything is applied: a malformed one changes nothing.
 */

export const syncMlContentType = 'application/vnd.syncml.dm+xml';
export const defaultMaxSyncMlBytes = 64 * 1024;
/** Commands in one message, and items in one command: a device's session message is small. */
const maxCommands = 256;
const maxItems = 256;
const maxText = 4096;

export interface SyncItem {
  target?: string;
  source?: string;
  data?: string;
}

export interface SyncCred {
  type: string;
  format?: string;
  data: string;
}

export interface SyncHeader {
  sessionId: string;
  msgId: string;
  /** The server URI the device addressed. */
  target: string;
  /** The device's DeviceID. */
  source: string;
  cred?: SyncCred;
}

/** A Status the device sends about one of the server's commands (or its header). */
export interface SyncStatus {
  cmdId: string;
  msgRef: string;
  cmdRef: string;
  cmd: string;
  /** The status code, e.g. 200. */
  code: number;
}

export interface SyncResults {
  cmdId: string;
  msgRef?: string;
  cmdRef: string;
  items: SyncItem[];
}

/** Commands a device sends of its own: Alert (session start, unenroll) and Replace/Add of values. */
export const deviceCommandKinds = ['Alert', 'Replace', 'Add'] as const;
export type DeviceCommandKind = (typeof deviceCommandKinds)[number];

export interface DeviceSyncCommand {
  kind: DeviceCommandKind;
  cmdId: string;
  /** Alert code (1201 client-initiated session, 1226 generic alert …). */
  data?: string;
  items: SyncItem[];
}

export interface DeviceMessage {
  header: SyncHeader;
  statuses: SyncStatus[];
  results: SyncResults[];
  commands: DeviceSyncCommand[];
  final: boolean;
}

/** A command the server sends: one SyncML command per core command (CmdID = the command id). */
export interface ServerSyncCommand {
  kind: 'Get' | 'Exec' | 'Replace';
  cmdId: string;
  items: { target: string; data?: string; format?: string }[];
}

const bodyKinds = new Set<string>(['Status', 'Results', 'Final', ...deviceCommandKinds]);

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: false,
  isArray: (name, jpath) => {
    const path = String(jpath);
    return path.startsWith('SyncML.SyncBody.') && (path.split('.').length === 3 || name === 'Item');
  },
});

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);

function text(node: Node, key: string, what: string, required: true): string;
function text(node: Node, key: string, what: string, required?: false): string | undefined;
function text(node: Node, key: string, what: string, required = false): string | undefined {
  const v = node[key];
  if (v === undefined || v === '') {
    if (required) throw windowsErrors.malformedSyncMl(`${what} is missing ${key}`);
    return undefined;
  }
  if (typeof v !== 'string') throw windowsErrors.malformedSyncMl(`${what}: ${key} must be text`);
  if (v.length > maxText) throw windowsErrors.malformedSyncMl(`${what}: ${key} is too long`);
  return v;
}

function locUri(node: Node, key: 'Target' | 'Source', what: string): string | undefined {
  const v = node[key];
  if (v === undefined) return undefined;
  if (!isNode(v)) throw windowsErrors.malformedSyncMl(`${what}: ${key} must hold a LocURI`);
  return text(v, 'LocURI', `${what} ${key}`, true);
}

function items(node: Node, what: string): SyncItem[] {
  const raw = node['Item'];
  if (raw === undefined) return [];
  if (!Array.isArray(raw) || raw.length > maxItems) throw windowsErrors.malformedSyncMl(`${what}: too many items`);
  return raw.map((it: unknown) => {
    if (!isNode(it)) throw windowsErrors.malformedSyncMl(`${what}: an Item must be an element`);
    const out: SyncItem = {};
    const target = locUri(it, 'Target', what);
    const source = locUri(it, 'Source', what);
    const data = it['Data'] === undefined ? undefined : typeof it['Data'] === 'string' ? it['Data'] : undefined;
    if (it['Data'] !== undefined && data === undefined) throw windowsErrors.malformedSyncMl(`${what}: Item Data must be text`);
    if (data !== undefined && data.length > maxText) throw windowsErrors.malformedSyncMl(`${what}: Item Data is too long`);
    if (target !== undefined) out.target = target;
    if (source !== undefined) out.source = source;
    if (data !== undefined) out.data = data;
    return out;
  });
}

function list(body: Node, key: string): Node[] {
  const v = body[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isNode)) throw windowsErrors.malformedSyncMl(`${key} must be elements`);
  return v;
}

/**
 * Parses and validates a device's SyncML message. Throws WindowsProtocolError (400 MalformedSyncML,
 * 413 TooLarge) for anything that is not a well-formed OMA DM 1.2 message of the supported shape.
 */
export function parseDeviceMessage(body: Buffer | string, maxBytes = defaultMaxSyncMlBytes): DeviceMessage {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > maxBytes) throw windowsErrors.tooLarge(maxBytes);
  const xml = typeof body === 'string' ? body : body.toString('utf8');
  if (xml.trim() === '') throw windowsErrors.malformedSyncMl('empty body');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw windowsErrors.malformedSyncMl('DOCTYPE and entity declarations are not allowed');
  if (XMLValidator.validate(xml) !== true) throw windowsErrors.malformedSyncMl('not well-formed XML');
  const doc = parser.parse(xml) as unknown;
  if (!isNode(doc) || !isNode(doc['SyncML'])) throw windowsErrors.malformedSyncMl('the root element must be SyncML');
  const root = doc['SyncML'];
  const hdr = root['SyncHdr'];
  const body_ = root['SyncBody'];
  if (!isNode(hdr)) throw windowsErrors.malformedSyncMl('SyncHdr is missing');
  if (body_ !== '' && !isNode(body_)) throw windowsErrors.malformedSyncMl('SyncBody is missing');
  const syncBody: Node = isNode(body_) ? body_ : {};
  if (text(hdr, 'VerDTD', 'SyncHdr', true) !== '1.2') throw windowsErrors.malformedSyncMl('VerDTD must be 1.2');
  if (text(hdr, 'VerProto', 'SyncHdr', true) !== 'DM/1.2') throw windowsErrors.malformedSyncMl('VerProto must be DM/1.2');
  const header: SyncHeader = {
    sessionId: text(hdr, 'SessionID', 'SyncHdr', true),
    msgId: text(hdr, 'MsgID', 'SyncHdr', true),
    target: locUri(hdr, 'Target', 'SyncHdr') ?? '',
    source: locUri(hdr, 'Source', 'SyncHdr') ?? '',
  };
  if (!/^[A-Za-z0-9._:{}-]{1,128}$/.test(header.source)) throw windowsErrors.malformedSyncMl('SyncHdr Source must be the DeviceID');
  if (header.sessionId.length > 64 || header.msgId.length > 64) throw windowsErrors.malformedSyncMl('SessionID or MsgID is too long');
  const cred = hdr['Cred'];
  if (cred !== undefined) {
    if (!isNode(cred)) throw windowsErrors.malformedSyncMl('Cred must be an element');
    const meta = isNode(cred['Meta']) ? cred['Meta'] : {};
    const format = text(meta, 'Format', 'Cred Meta');
    header.cred = { type: text(meta, 'Type', 'Cred Meta', true), data: text(cred, 'Data', 'Cred', true), ...(format ? { format } : {}) };
  }

  for (const key of Object.keys(syncBody)) {
    if (!bodyKinds.has(key)) throw windowsErrors.malformedSyncMl(`unsupported command ${key.slice(0, 32)}`);
  }
  const statuses = list(syncBody, 'Status').map((s): SyncStatus => {
    const data = text(s, 'Data', 'Status', true);
    if (!/^\d{3}$/.test(data)) throw windowsErrors.malformedSyncMl('Status Data must be a three-digit code');
    return {
      cmdId: text(s, 'CmdID', 'Status', true),
      msgRef: text(s, 'MsgRef', 'Status', true),
      cmdRef: text(s, 'CmdRef', 'Status', true),
      cmd: text(s, 'Cmd', 'Status', true),
      code: Number(data),
    };
  });
  const results = list(syncBody, 'Results').map((r): SyncResults => {
    const msgRef = text(r, 'MsgRef', 'Results');
    return {
      cmdId: text(r, 'CmdID', 'Results', true),
      cmdRef: text(r, 'CmdRef', 'Results', true),
      items: items(r, 'Results'),
      ...(msgRef ? { msgRef } : {}),
    };
  });
  const commands: DeviceSyncCommand[] = [];
  for (const kind of deviceCommandKinds) {
    for (const c of list(syncBody, kind)) {
      const data = text(c, 'Data', kind);
      commands.push({ kind, cmdId: text(c, 'CmdID', kind, true), items: items(c, kind), ...(data ? { data } : {}) });
    }
  }
  if (statuses.length + results.length + commands.length > maxCommands) throw windowsErrors.malformedSyncMl('too many commands');
  return { header, statuses, results, commands, final: 'Final' in syncBody };
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true, processEntities: true });

/** What the server answers in one message: statuses for the device's message, then at most a few commands. */
export interface ServerMessage {
  sessionId: string;
  msgId: string;
  /** The device's DeviceID. */
  target: string;
  /** The management URL. */
  source: string;
  statuses: { cmdId: string; msgRef: string; cmdRef: string; cmd: string; code: number }[];
  commands: ServerSyncCommand[];
}

/** Serializes a server message (escaping every value: a LocURI or a payload may carry any text). */
export function buildServerMessage(m: ServerMessage): string {
  const body: Node = {
    Status: m.statuses.map((s) => ({ CmdID: s.cmdId, MsgRef: s.msgRef, CmdRef: s.cmdRef, Cmd: s.cmd, Data: String(s.code) })),
  };
  for (const kind of ['Get', 'Exec', 'Replace'] as const) {
    const of = m.commands.filter((c) => c.kind === kind);
    if (of.length === 0) continue;
    body[kind] = of.map((c) => ({
      CmdID: c.cmdId,
      Item: c.items.map((it) => ({
        Target: { LocURI: it.target },
        ...(it.format ? { Meta: { Format: { '@_xmlns': 'syncml:metinf', '#text': it.format } } } : {}),
        ...(it.data !== undefined ? { Data: it.data } : {}),
      })),
    }));
  }
  body['Final'] = '';
  return builder.build({
    SyncML: {
      '@_xmlns': 'SYNCML:SYNCML1.2',
      SyncHdr: {
        VerDTD: '1.2',
        VerProto: 'DM/1.2',
        SessionID: m.sessionId,
        MsgID: m.msgId,
        Target: { LocURI: m.target },
        Source: { LocURI: m.source },
      },
      SyncBody: body,
    },
  });
}
