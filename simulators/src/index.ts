/** Simulated Modbus TCP field devices for the edge: an inverter, a fan and an energy-storage unit. */
export { startSimulator, models, simulatorKinds } from './simulator.js';
export type { RunningSimulator, SimulatorOptions, SimulatorState } from './simulator.js';
export type { SimulatorKind, DeviceModel } from './models/model.js';
export { inverterMap } from './models/inverter.js';
export { fanMap } from './models/fan.js';
export { energyStorageMap, storageMode } from './models/energy-storage.js';
export type { PointSpec, PointType, PointValue, RegisterMap } from './register-map.js';
export { CborDevice } from './cbor-device.js';
export type { CborDeviceOptions, RawReplyMessage } from './cbor-device.js';
