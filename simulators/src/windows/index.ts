export { WnsSimulator, type WnsSimulatorOptions, type WnsReceived } from './wns-simulator.js';
export { WindowsDevice, createCsr, type WindowsDeviceOptions, type ServerCommandSeen } from './windows-device.js';
