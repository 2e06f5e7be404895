/**
 * `thing.log.post` and `network.status.report` (docs/PROTOCOL.md §7.2).
 * EnOS publishes only the topic constants; the payloads here are ours and documented there.
 */
import { EnosError, codes, type TopicKind } from '@edgehub/shared';
import type { UpstreamHandler } from '../router/context.js';
import { isObject, optionalTime, shapeError } from '../router/model-check.js';
import { logLevels, type DeviceLogs, type LogLevel, type NewDeviceLog } from './device-logs.js';

export const MAX_LOG_ENTRIES = 100;
export const MAX_LOG_CONTENT = 4096;
export const MAX_MODULE = 128;
export const MAX_NETWORK_FIELDS = 32;

export function deviceLogHandlers(logs: DeviceLogs): Partial<Record<TopicKind, UpstreamHandler>> {
  const logPost: UpstreamHandler = async (req, deps) => {
    const params = req.request.params;
    // `{logs:[…]}`, a bare array, or one entry.
    const list = Array.isArray(params)
      ? params
      : isObject(params) && Array.isArray(params['logs'])
        ? params['logs']
        : isObject(params)
          ? [params]
          : undefined;
    if (!list) throw shapeError('params', 'must be a log entry, an array of them, or {"logs":[…]}');
    if (list.length > MAX_LOG_ENTRIES)
      throw new EnosError(codes.modelValidationFailed, `params holds ${list.length} log entries, at most ${MAX_LOG_ENTRIES} are allowed`);
    const entries: NewDeviceLog[] = list.map((raw, i) => {
      const field = `params.logs[${i}]`;
      if (!isObject(raw)) throw shapeError(field, 'must be a JSON object');
      const content = raw['content'];
      if (typeof content !== 'string' || content.length === 0 || content.length > MAX_LOG_CONTENT)
        throw shapeError(`${field}.content`, `must be a string of 1 to ${MAX_LOG_CONTENT} characters`);
      const level = raw['level'] ?? 'INFO';
      if (typeof level !== 'string' || !logLevels.includes(level.toUpperCase() as LogLevel))
        throw shapeError(`${field}.level`, `must be one of ${logLevels.join(', ')}`);
      const module = raw['module'];
      if (module !== undefined && (typeof module !== 'string' || module.length > MAX_MODULE))
        throw shapeError(`${field}.module`, `must be a string of at most ${MAX_MODULE} characters`);
      const entry: NewDeviceLog = {
        kind: 'log',
        time: optionalTime(raw['time'], `${field}.time`, deps.clock),
        level: level.toUpperCase() as LogLevel,
        content,
      };
      if (typeof module === 'string') entry.module = module;
      return entry;
    });
    await logs.append(req.target, entries);
    return { data: {} };
  };

  const networkStatusReport: UpstreamHandler = async (req, deps) => {
    const params = req.request.params;
    if (!isObject(params)) throw shapeError('params', 'must be a JSON object of network facts, e.g. {"networkType":"4G","rssi":-71}');
    const { time, ...status } = params;
    const keys = Object.keys(status);
    if (keys.length === 0 || keys.length > MAX_NETWORK_FIELDS)
      throw new EnosError(codes.modelValidationFailed, `params must hold 1 to ${MAX_NETWORK_FIELDS} fields`);
    for (const k of keys) {
      const v = status[k];
      const ok =
        v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 256);
      if (!ok || k.length > 64) throw shapeError(`params.${k}`, 'must be a number, a boolean, null or a string of at most 256 characters');
    }
    await logs.append(req.target, [{ kind: 'network', time: optionalTime(time, 'params.time', deps.clock), status }]);
    return { data: {} };
  };

  return { logPost, networkStatusReport };
}
