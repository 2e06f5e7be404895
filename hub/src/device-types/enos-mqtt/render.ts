import { topics } from '@edgehub/shared';
import type { CommandRecord } from '../../commands/records.js';

/** The wire form of an EnOS command: the MQTT topic and the downstream message. */
export interface MqttWire {
  topic: string;
  message: unknown;
}

/** The EnOS downstream message of a command (docs/ENOS-PROTOCOL.md §4.2, §9.4). */
export function renderEnos(c: Pick<CommandRecord, 'kind' | 'name' | 'params' | 'commandId' | 'productKey' | 'deviceKey'>): MqttWire {
  if (c.kind === 'setMeasurepoint') {
    return {
      topic: topics.measurepointSet(c.productKey, c.deviceKey),
      message: { id: c.commandId, version: '1.0', method: 'thing.service.measurepoint.set', params: c.params },
    };
  }
  if (c.kind === 'getMeasurepoint') {
    // The device is asked for the ids as a list and answers {id: value} (§4.2).
    return {
      topic: topics.measurepointGet(c.productKey, c.deviceKey),
      message: { id: c.commandId, version: '1.0', method: 'thing.service.measurepoint.get', params: c.params['measurepoints'] },
    };
  }
  return {
    topic: topics.serviceInvoke(c.productKey, c.deviceKey, c.name),
    message: { id: c.commandId, version: '1.0', method: `thing.service.${c.name}`, params: c.params },
  };
}
