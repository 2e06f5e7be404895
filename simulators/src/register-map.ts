/**
 * A device model's register map, in the edge's format (edge/src/southbound/register-map.ts), so the
 * demo's edge config can reference it. Declared here rather than imported: the simulators stand in
 * for third-party devices and share no code with the edge they test. The edge's southbound test
 * assigns these maps to its own RegisterMap type, so the two cannot drift apart unnoticed.
 */
export type PointType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';

export interface PointSpec {
  fc: 1 | 2 | 3 | 4;
  address: number;
  type: PointType;
  wordOrder?: 'BE' | 'LE';
  scale?: number;
  offset?: number;
  writable?: { fc: 5 | 6 | 15 | 16 };
}

export interface RegisterMap {
  points: { [pointId: string]: PointSpec };
}

export type PointValue = number | boolean;
