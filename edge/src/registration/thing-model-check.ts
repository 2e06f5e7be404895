import type { ApiClient } from '@edgehub/shared/api-client';
import type { DeviceModel, RegisterPoint, SouthboundDeviceConfig } from '../config/types.js';

/** The part of a product's thing model the register maps are checked against. */
export interface MeasurepointTypes {
  [pointId: string]: { dataType: string };
}

/** The sub-device product's declared measurepoints (an empty set: the model is schema-less). */
export async function fetchMeasurepointTypes(api: ApiClient, orgId: string, productKey: string): Promise<MeasurepointTypes> {
  const r = await api.ok<{ thingModel?: { measurepoints?: MeasurepointTypes } }>('GET', '/connect-service/v2.1/products', {
    action: 'get',
    orgId,
    productKey,
  });
  return r.data.thingModel?.measurepoints ?? {};
}

const isIntegral = (x: number | undefined) => x === undefined || Number.isInteger(x);

/** Why the thing model would refuse this point's readings, or undefined when it takes them. */
function mismatch(point: RegisterPoint, dataType: string): string | undefined {
  const integerValues = point.type !== 'float32' && point.type !== 'bool' && isIntegral(point.scale) && isIntegral(point.offset);
  switch (dataType) {
    case 'BOOL':
      return point.type === 'bool' ? undefined : `is ${point.type} but the thing model declares BOOL`;
    case 'INT':
    case 'TIMESTAMP':
    case 'DATE':
    case 'ENUM':
      return integerValues
        ? undefined
        : `reads ${point.type === 'bool' ? 'booleans' : 'fractional values'} but the thing model declares ${dataType}`;
    case 'FLOAT':
    case 'DOUBLE':
      return point.type === 'bool' ? `reads booleans but the thing model declares ${dataType}` : undefined;
    default:
      return `the thing model declares ${dataType}, which a register cannot hold`;
  }
}

/**
 * Every point of every register map these devices use, against the product's thing model
 * (docs/ARCHITECTURE.md, "Edge: register maps and the thing model"): a point the model does not
 * declare, or whose values it would refuse, is listed with its key so the operator can fix the map.
 * A model without measurepoints is schema-less and takes everything.
 */
export function registerMapProblems(
  devices: readonly SouthboundDeviceConfig[],
  models: Record<string, DeviceModel>,
  declared: MeasurepointTypes,
  productKey: string,
): string[] {
  if (Object.keys(declared).length === 0) return [];
  const problems: string[] = [];
  for (const name of new Set(devices.map((d) => d.model))) {
    const model = models[name];
    if (!model) continue;
    for (const [pointId, point] of Object.entries(model.points)) {
      const key = `southbound.models.${name}.points.${pointId}`;
      const spec = Object.hasOwn(declared, pointId) ? declared[pointId] : undefined;
      if (!spec) {
        problems.push(`${key}: "${pointId}" is not a measurepoint of product ${productKey}'s thing model`);
        continue;
      }
      const why = mismatch(point, spec.dataType);
      if (why) problems.push(`${key}: ${why}`);
    }
  }
  return problems;
}
