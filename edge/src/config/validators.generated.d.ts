// Types of validators.generated.js (written by validators.ts; this file is kept by hand).
import type { ErrorObject } from 'ajv';
import type { EdgeConfigFile, SouthboundDeviceConfig } from './types.js';

export interface GeneratedValidator<T> {
  (data: unknown): data is T;
  errors?: ErrorObject[] | null;
}

export declare const validateEdgeConfig: GeneratedValidator<EdgeConfigFile>;
export declare const validateSouthboundDevice: GeneratedValidator<SouthboundDeviceConfig>;
