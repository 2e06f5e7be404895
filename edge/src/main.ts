import { Command } from 'commander';
import { pino } from 'pino';
import { startConfigCenter } from './config-center/server.js';
import { EdgeConfigError, loadEdgeConfig } from './config/load.js';
import { Edge } from './edge.js';
import { modbusSouthbound } from './southbound-factory.js';

/** `edge start --config <file>`: the edge runtime with its burned-in identity and southbound map. */
const program = new Command('edge').description('edgehub edge runtime');

program
  .command('start')
  .requiredOption('--config <file>', 'the edge config file (JSON)')
  .option('--log-level <level>', 'fatal, error, warn, info, debug', process.env['LOG_LEVEL'] ?? 'info')
  .action(async (opts: { config: string; logLevel: string }) => {
    const log = pino({ level: opts.logLevel, redact: { paths: ['*.deviceSecret', '*.accessSecret', '*.keyPem'], censor: '[redacted]' } });
    try {
      const config = await loadEdgeConfig(opts.config, (m) => log.warn(m));
      const edge = await Edge.start(config, modbusSouthbound, log);
      // EDGE_TRACE=1 prints every reading when taken and when durable in the buffer (diagnostics).
      if (process.env['EDGE_TRACE'] === '1') {
        edge.on('reading', (r) => process.stdout.write(`TRACE read ${r.deviceId} ${r.time}\n`));
        edge.telemetry.onDurable = (rs) => process.stdout.write(rs.map((r) => `TRACE durable ${r.deviceKey} ${r.time}\n`).join(''));
      }
      const center = await startConfigCenter(edge, config.configCenter);
      process.stdout.write(
        `edge ${config.identity.gateway.deviceKey} started: ${config.southbound.devices.length} southbound devices, config center ${center.url}\n`,
      );
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        void center.app
          .close()
          .then(() => edge.stop())
          .then(
            () => process.exit(0),
            () => process.exit(1),
          );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    } catch (err) {
      if (err instanceof EdgeConfigError) {
        process.stderr.write(`configuration error: ${err.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`edge failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
  });

await program.parseAsync(process.argv);
