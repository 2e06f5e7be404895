/**
 * Every way of running the hub gives it the same V8 options (hub/src/deploy/node-flags.ts): the
 * latency tail and the memory figures in docs/BENCHMARKS.md were measured with them, so a start
 * script or a container without them would run a different hub from the one measured.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hubNodeFlags } from '@edgehub/hub/deploy';
import { repoRoot, startFlags } from '../src/index.js';

describe("the hub's V8 options", () => {
  it('`npm start` gives them, as the benchmarks start the hub', () => {
    expect(startFlags()).toEqual([...hubNodeFlags]);
  });

  it("docker-compose.yml gives them to the hub's containers, on the command line (NODE_OPTIONS refuses one of them)", () => {
    const compose = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    const x = /^x-hub: &hub\n((?: {2}.*\n)+)/m.exec(compose);
    expect(x, 'the x-hub block').not.toBeNull();
    const command = /^\s*command:\s*(\[.*\])\s*$/m.exec(x![1]!);
    expect(command, 'a command in x-hub').not.toBeNull();
    expect(JSON.parse(command![1]!)).toEqual([...hubNodeFlags, 'hub/dist/bin/hub.js']);
    expect(compose).not.toMatch(/NODE_OPTIONS/);
  });
});
