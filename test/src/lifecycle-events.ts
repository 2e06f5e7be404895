import type { RunningHub } from './hub-harness.js';

/** Resolves when the hub has written the device's status (an event, never a poll). */
export function statusWritten(h: RunningHub, assetId: string, status: 'online' | 'offline'): Promise<void> {
  return new Promise((resolve) => {
    const on = (d: { assetId: string }) => {
      if (d.assetId !== assetId) return;
      h.hub.broker.lifecycle.off(status, on);
      resolve();
    };
    h.hub.broker.lifecycle.on(status, on);
  });
}

export const wentOnline = (h: RunningHub, assetId: string) => statusWritten(h, assetId, 'online');
export const wentOffline = (h: RunningHub, assetId: string) => statusWritten(h, assetId, 'offline');
