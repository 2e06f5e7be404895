/**
 * The signed REST client lives in @edgehub/shared (shared/src/client/api-client.ts), so that the edge
 * uses it without loading the hub; the CLI and the hub package's users keep importing it from here.
 */
export { ApiClient, ApiError, type ApiClientOptions, type ApiResponse } from '@edgehub/shared/api-client';
