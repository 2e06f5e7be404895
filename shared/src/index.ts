export * from './errors.js';
export * from './signing/apim.js';
export * from './signing/compare.js';
