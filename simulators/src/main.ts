/**
 * Runs simulated devices until interrupted:
 *   node --import tsx simulators/src/main.ts                      all three on 5020, 5021, 5022
 *   node --import tsx simulators/src/main.ts --fan 1502           just a fan
 *   node --import tsx simulators/src/main.ts --print-maps         register maps for the edge config
 */
import { Command, InvalidArgumentError } from 'commander';
import { models, simulatorKinds, startSimulator, type RunningSimulator, type SimulatorKind } from './index.js';

const defaultPorts: Record<SimulatorKind, number> = { inverter: 5020, fan: 5021, 'energy-storage': 5022 };

function integer(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };
}

const program = new Command('simulators')
  .description('Simulated Modbus TCP devices: all three when none is named')
  .option('--inverter <port>', 'run an inverter on this port (0 = any free port)', integer(0, 65535))
  .option('--fan <port>', 'run a fan on this port', integer(0, 65535))
  .option('--energy-storage <port>', 'run an energy-storage unit on this port', integer(0, 65535))
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--unit-id <id>', 'Modbus unit id the devices answer to', integer(0, 255), 1)
  .option('--seed <n>', 'fixes variations and noise', integer(0, 2 ** 31 - 1), 1)
  .option('--print-maps', 'print the register maps in the edge format as JSON and exit')
  .parse();

const opts = program.opts<{
  inverter?: number;
  fan?: number;
  energyStorage?: number;
  host: string;
  unitId: number;
  seed: number;
  printMaps?: boolean;
}>();

if (opts.printMaps) {
  process.stdout.write(`${JSON.stringify(Object.fromEntries(simulatorKinds.map((k) => [k, models[k].map])), null, 2)}\n`);
  process.exit(0);
}

const chosen: Partial<Record<SimulatorKind, number>> = {
  ...(opts.inverter !== undefined && { inverter: opts.inverter }),
  ...(opts.fan !== undefined && { fan: opts.fan }),
  ...(opts.energyStorage !== undefined && { 'energy-storage': opts.energyStorage }),
};
const ports = Object.keys(chosen).length > 0 ? chosen : defaultPorts;

const running: RunningSimulator[] = [];
try {
  for (const [kind, port] of Object.entries(ports) as Array<[SimulatorKind, number]>) {
    const sim = await startSimulator({ kind, port, host: opts.host, unitId: opts.unitId, seed: opts.seed });
    running.push(sim);
    process.stdout.write(`${kind} listening on ${opts.host}:${sim.port} (unit ${opts.unitId})\n`);
  }
} catch (err) {
  process.stderr.write(`simulators: ${err instanceof Error ? err.message : String(err)}\n`);
  await Promise.all(running.map((s) => s.stop()));
  process.exit(1);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all(running.map((s) => s.stop())).then(() => process.exit(0));
  });
}
