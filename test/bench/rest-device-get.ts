import type { ApiClient, ApiResponse } from '@edgehub/hub';
import { runLoad, type LoadResult } from './load.js';
import { seededRandom } from './stats.js';

export interface GetTarget {
  client: ApiClient;
  orgId: string;
}

/** One signed `devices?action=get` by assetId; rejects unless the envelope says OK. */
export async function getDevice(t: GetTarget, assetId: string): Promise<ApiResponse<{ assetId: string }>> {
  const r = await t.client.connect<{ assetId: string }>(t.orgId, 'GET', 'devices', 'get', { assetId });
  if (r.code !== 0) throw new Error(`device get failed: ${r.code} ${r.msg}`);
  return r;
}

/** The assetIds to ask for, drawn at random (fixed seed) from the devices the hub holds. */
export function randomPicks(assetIds: readonly string[], count: number, seed: number): string[] {
  const rnd = seededRandom(seed);
  return Array.from({ length: count }, () => assetIds[Math.floor(rnd() * assetIds.length)]!);
}

/** Runs the device GET loop against one target: `picks.length` calls, `concurrency` in flight. */
export function deviceGetLoad(t: GetTarget, picks: readonly string[], concurrency: number): Promise<LoadResult> {
  return runLoad(
    async (i) => {
      await getDevice(t, picks[i]!);
    },
    { requests: picks.length, concurrency },
  );
}
