/**
 * The hub binary's command line (`npm start -- --help`). The hub is configured through environment
 * variables (docs/CONFIGURATION.md) and takes no arguments: `--help` and `--version` answer and
 * exit before anything is opened or created, and any other argument is refused as a usage error
 * (before, the hub ignored its arguments and started, creating a data directory, even for --help).
 */
import { Command, CommanderError } from 'commander';

/** What the command line asks for: start the hub, or exit at once with this code. */
export type StartDecision = { start: true } | { start: false; exitCode: number };

export function readStartOptions(argv: readonly string[], version: string): StartDecision {
  const program = new Command('hub')
    .description('Starts the edgehub hub: REST API, MQTT broker, web console, certificate authority.')
    .version(version, '-v, --version')
    .helpOption('-h, --help')
    .allowExcessArguments(false)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      [
        '',
        'It takes no other arguments: it is configured through environment variables (docs/CONFIGURATION.md),',
        'for example HUB_DATA_DIR (default ./data), HUB_HTTP_PORT (8080), HUB_MQTT_PORT (11883), MONGODB_URL, REDIS_URL.',
      ].join('\n'),
    );
  try {
    program.parse([...argv]);
    return { start: true };
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // Help and version end with code 0; every refusal is a usage error (2, as for a configuration error).
    return { start: false, exitCode: err.exitCode === 0 ? 0 : 2 };
  }
}
