export * from './hub-harness.js';
export * from './spawn-hub.js';
export * from './mqtt-device.js';
export * from './fixtures.js';
export * from './raw-mqtt.js';
export * from './lifecycle-events.js';
export * from './app-clients.js';
export * from './redis-server.js';
