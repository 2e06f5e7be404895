/** The edge's Modbus southbound (TCP and RTU through modbus-serial). */
export { checkSouthDevices, createModbusPoller, type ModbusPoller, type ModbusPollerEvents } from './poller.js';
export { parseRegisterMap, pointWidth } from './register-map.js';
export type { PointSpec, PointType, ReadFunctionCode, RegisterMap, WordOrder, WriteFunctionCode } from './register-map.js';
export { SouthboundError, type SouthboundFailure } from './errors.js';
export type { PollerOptions, SouthDevice, SouthDeviceStatus, SouthReading, SouthState, SouthStateEvent, SouthTransport } from './types.js';
