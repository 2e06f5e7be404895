export { Edge, type EdgeStatus, type SouthboundFactory } from './edge.js';
export { loadEdgeConfig, EdgeConfigError } from './config/load.js';
export type { EdgeConfig } from './config/types.js';
export { modbusSouthbound } from './southbound-factory.js';
export { startConfigCenter } from './config-center/server.js';
