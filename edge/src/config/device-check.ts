import { Ajv } from 'ajv';
import { describeSchemaError } from './schema-errors.js';
import { southboundDeviceSchema } from './schema.js';
import type { SouthboundDeviceConfig } from './types.js';

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
const validate = ajv.compile(southboundDeviceSchema);

/**
 * A device sent to the config center (`POST /subdevices`), checked against the same schema as the
 * config file's `southbound.devices[]`. Throws a TypeError naming the key.
 */
export function parseDeviceConfig(raw: unknown): SouthboundDeviceConfig {
  if (!validate(raw)) {
    const text = describeSchemaError(validate.errors!);
    throw new TypeError(text.startsWith('(root)') ? `body ${text.slice('(root) '.length)}` : text);
  }
  return raw;
}
