// Defined with the command core, the lowest room that throws it (docs/ARCHITECTURE.md, "Layers").
export { DeviceMgtError } from '../commands/operation-error.js';
