export * from './errors.js';
export * from './signing/apim.js';
export * from './signing/compare.js';
export * from './signing/device.js';
export * from './topics.js';
export * from './envelope.js';
export * from './codecs.js';
export * from './stream-topics.js';
