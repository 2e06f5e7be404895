export * from './hub-harness.js';
export * from './spawn-hub.js';
