import { registerCertificate } from './commands/certificate.js';
import { Command, CommanderError } from 'commander';
import { registerCommand } from './commands/command.js';
import { registerCompletion } from './commands/completion.js';
import { registerDevice } from './commands/device.js';
import { registerEdge } from './commands/edge.js';
import { registerLogin } from './commands/login.js';
import { registerMeasurepoint } from './commands/measurepoint.js';
import { registerStream } from './commands/stream.js';
import { registerTopology } from './commands/topology.js';
import { registerProduct } from './commands/product.js';
import { exitCodes, reportError } from './errors.js';

/** The command tree. Settings set here before `.command()` (exitOverride, output) are inherited by every subcommand. */
export function buildProgram(): Command {
  const program = new Command('edgehub')
    .description('Manage products and devices of an EnOS-compatible hub as an org engineer')
    .option('--json', 'print results as JSON')
    .option('--profile <name>', 'the saved account to use (default: $EDGEHUB_PROFILE or "default")')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true });
  registerLogin(program);
  registerProduct(program);
  registerDevice(program);
  registerCertificate(program);
  registerMeasurepoint(program);
  registerTopology(program);
  registerCommand(program);
  registerStream(program);
  registerEdge(program);
  registerCompletion(program);
  return program;
}

/** Runs the CLI; resolves with the process exit code (0 ok, 1 failure, 2 usage). */
export async function run(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return exitCodes.ok;
  } catch (e) {
    // Commander has already printed its message (or the help).
    if (e instanceof CommanderError)
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? exitCodes.ok : exitCodes.usage;
    return reportError(e);
  }
}
