// The guard lives with the device-management domain, where the device types' own routes reach it
// too (docs/ARCHITECTURE.md, "Layers"); the management REST keeps importing it from here.
export * from '../../device-management/guard.js';
