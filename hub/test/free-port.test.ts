import { describe, expect, it } from 'vitest';
import { freePort } from '../src/deploy/processes.js';

describe('freePort', () => {
  // The local cluster takes a dozen ports before anything binds them (HAProxy starts last): a port
  // handed out twice made HAProxy fail with "Address already in use" against one of the hubs.
  it('never hands out the same port twice, even before anything binds it', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 1500; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    expect(ports.every((p) => p >= 20_000 && p < 32_000)).toBe(true);
  });
});
