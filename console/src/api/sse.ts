import type { Session } from './session.js';
import { endpoints } from './endpoints.js';
import type { StreamEvent } from './types.js';

/**
 * The organization's event stream (docs/PROTOCOL.md, Server-Sent Events). EventSource cannot send
 * the apim headers, so this reads the stream with fetch and parses the frames itself. Reconnects
 * after a drop until closed; returns the function that closes it.
 */
export function openStream(
  session: Session,
  filter: { productKey?: string; deviceKey?: string; types?: string },
  onEvent: (e: StreamEvent) => void,
  onState: (connected: boolean) => void = () => undefined,
): () => void {
  const abort = new AbortController();
  let stopped = false;
  const run = async () => {
    while (!stopped && session.active) {
      try {
        const { url, headers } = session.signed(endpoints.events, { ...filter });
        const res = await fetch(url, { headers, signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`stream refused: ${res.status}`);
        onState(true);
        await readFrames(res.body, onEvent);
      } catch {
        if (stopped) return;
      }
      onState(false);
      if (!stopped) await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    abort.abort();
  };
}

async function readFrames(body: ReadableStream<Uint8Array>, onEvent: (e: StreamEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n');
      if (!data) continue;
      try {
        onEvent(JSON.parse(data) as StreamEvent);
      } catch {
        // A frame that is not JSON is not ours to show.
      }
    }
  }
}
