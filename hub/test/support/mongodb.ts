import { existsSync } from 'node:fs';
import { connect, type NetConnectOpts } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';

/**
 * Where a MongoDB contract suite runs: MONGODB_URL, or a mongo:7 container when a Docker engine is
 * reachable; otherwise `skip` says why, and the suite is listed as skipped under that reason.
 */
export interface MongoTarget {
  skip: string | undefined;
  setup(): Promise<void>;
  /** A fresh database name for one test's store; dropped in teardown. */
  database(location: string): { url: string; dbName: string };
  teardown(): Promise<void>;
}

export async function mongoTarget(prefix: string): Promise<MongoTarget> {
  let url = process.env['MONGODB_URL'];
  let stop = async () => {};
  const base = `${prefix}_${process.pid}_${Date.now().toString(36)}`;
  const used = new Set<string>();
  return {
    skip: url || (await dockerReachable()) ? undefined : 'no MONGODB_URL and no Docker engine',
    async setup() {
      if (url) return;
      const { MongoDBContainer } = await import('@testcontainers/mongodb');
      const container = await new MongoDBContainer('mongo:7').start();
      url = `${container.getConnectionString()}/?directConnection=true`;
      stop = async () => void (await container.stop());
    },
    database(location) {
      const dbName = `${base}_${location}`;
      used.add(dbName);
      return { url: url!, dbName };
    },
    async teardown() {
      if (url && used.size > 0) {
        const client = await MongoClient.connect(url);
        for (const name of used) await client.db(name).dropDatabase();
        await client.close();
      }
      await stop();
    },
  };
}

/** Cheap probe, so a machine without Docker skips in milliseconds instead of timing out. */
export async function dockerReachable(): Promise<boolean> {
  const host = process.env['DOCKER_HOST'];
  let target: NetConnectOpts | undefined;
  if (host?.startsWith('unix://')) target = { path: host.slice('unix://'.length) };
  else if (host?.startsWith('tcp://')) {
    const u = new URL(host.replace(/^tcp:/, 'http:'));
    target = { host: u.hostname, port: Number(u.port || 2375) };
  } else if (host)
    return true; // ssh://, npipe://: let testcontainers try
  else {
    const sockets = [
      '/var/run/docker.sock',
      join(homedir(), '.docker/run/docker.sock'),
      `${process.env['XDG_RUNTIME_DIR'] ?? '/nonexistent'}/docker.sock`,
    ];
    const path = sockets.find((p) => existsSync(p));
    if (!path) return false;
    target = { path };
  }
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1500);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
