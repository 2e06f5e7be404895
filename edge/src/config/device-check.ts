import { describeSchemaError } from './schema-errors.js';
import type { SouthboundDeviceConfig } from './types.js';
/** The schema (schema.ts) compiled ahead of time by Ajv (validators.ts). */
import { validateSouthboundDevice as validate } from './validators.generated.js';

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
