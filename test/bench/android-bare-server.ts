/**
 * The peer of the Android loop (test/bench/android-bench.ts): a bare HTTP/1.1 server speaking just
 * enough of the agent protocol — enrollment answers a fixed token, pending-operations hands out
 * what is queued in memory and takes results — with no store, no checks and no command core.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BareOperation {
  id: string;
  code: string;
  type: string;
  status: 'PENDING';
  enabled: boolean;
  payLoad: unknown;
}

export class BareAndroidServer {
  readonly queued = new Map<string, BareOperation[]>();
  readonly completedAt = new Map<string, number>();
  onCompleted?: (id: string) => void;
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      void body(req).then((text) => {
        const path = req.url ?? '';
        let answer: unknown = {};
        let status = 200;
        if (req.method === 'POST' && path.endsWith('/devices')) {
          status = 201;
          answer = { accessToken: 'B'.repeat(43), tokenType: 'Bearer' };
        } else if (req.method === 'PUT' && path.endsWith('/pending-operations')) {
          const deviceId = path.split('/').at(-2) ?? '';
          const results = text ? (JSON.parse(text) as { id: string; status: string }[] | null) : null;
          for (const r of results ?? []) {
            if (r.status === 'COMPLETED' && !this.completedAt.has(r.id)) {
              this.completedAt.set(r.id, performance.now());
              this.onCompleted?.(r.id);
            }
          }
          status = 201;
          answer = this.queued.get(deviceId) ?? [];
          this.queued.delete(deviceId);
        }
        const out = JSON.stringify(answer);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      });
    });
    server.keepAliveTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
