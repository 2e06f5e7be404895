export { ApiClient, ApiError, type ApiClientOptions, type ApiResponse } from './client/api-client.js';
export { loadConfig, type HubConfig } from './config.js';
export { openHub, type Hub } from './hub.js';
export { portInUseMessage } from './port-in-use.js';
