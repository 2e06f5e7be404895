import { Option, type Command } from 'commander';
import { profileName, saveProfile, type Profile } from '../credentials.js';
import { UsageError } from '../errors.js';
import { keyValues } from '../output.js';
import { credentialsFromFile, secretFromFile, secretFromStdin } from '../secret-input.js';
import { outputFor, Session, type GlobalOptions } from '../session.js';

interface LoginOptions {
  url: string;
  org?: string;
  accessKey?: string;
  secretFile?: string;
  secretStdin?: boolean;
  fromCredentials?: string;
  secret?: string;
  accessSecret?: string;
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('check a service account against the hub and save it as a profile')
    .requiredOption('--url <baseUrl>', 'the hub REST base URL, e.g. http://127.0.0.1:8080')
    .option('--org <orgId>', 'the organization to act in (default: the one in --from-credentials)')
    .option('--access-key <accessKey>', 'the service account access key (default: the one in --from-credentials)')
    .addOption(new Option('--secret-file <path>', 'read the access secret from a file').conflicts(['secretStdin', 'fromCredentials']))
    .addOption(
      new Option('--secret-stdin', 'read the access secret from stdin (prompts without echo on a terminal)').conflicts('fromCredentials'),
    )
    .option('--from-credentials <file>', 'use an admin-credentials.json written by the hub on its first start')
    // Refused with an explanation rather than as an unknown option.
    .addOption(new Option('--secret <value>').hideHelp())
    .addOption(new Option('--access-secret <value>').hideHelp())
    .action(async (_opts: LoginOptions, cmd: Command) => {
      const o = cmd.optsWithGlobals<LoginOptions & GlobalOptions>();
      const out = outputFor(o);
      const profile = await resolveProfile(o, (msg) => out.notice(msg));

      // Getting a token proves the key and secret; a one-item search proves the account may act in the org.
      const session = new Session(profile);
      await session.client.accessToken();
      await session.ok('POST', 'products', 'search', {}, { pagination: { pageNo: 1, pageSize: 1 } });

      const name = profileName(o.profile);
      const path = await saveProfile(name, profile);
      const shown = { profile: name, url: profile.url, orgId: profile.orgId, accessKey: profile.accessKey, credentialsFile: path };
      out.result(shown, () => `logged in\n${keyValues(Object.entries(shown))}`);
    });
}

async function resolveProfile(o: LoginOptions, warn: (msg: string) => void): Promise<Profile> {
  if (o.secret !== undefined || o.accessSecret !== undefined) {
    throw new UsageError(
      'a secret is not accepted as an option value (it would stay in shell history and show in ps); use --secret-file, --secret-stdin or --from-credentials',
    );
  }
  const url = baseUrl(o.url);
  if (o.fromCredentials !== undefined) {
    const c = await credentialsFromFile(o.fromCredentials);
    if (o.accessKey !== undefined && o.accessKey !== c.accessKey)
      throw new UsageError(`${o.fromCredentials} holds the secret of access key ${c.accessKey}, not ${o.accessKey}`);
    return { url, orgId: o.org ?? c.orgId, accessKey: c.accessKey, accessSecret: c.accessSecret };
  }
  if (o.org === undefined || o.accessKey === undefined)
    throw new UsageError('--org and --access-key are required (or use --from-credentials)');
  let accessSecret: string;
  if (o.secretFile !== undefined) accessSecret = await secretFromFile(o.secretFile, warn);
  else if (o.secretStdin) accessSecret = await secretFromStdin();
  else throw new UsageError('give the access secret with --secret-file <path>, --secret-stdin or --from-credentials <file>');
  return { url, orgId: o.org, accessKey: o.accessKey, accessSecret };
}

function baseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--url: not a URL: ${raw}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--url: expected http or https, got ${u.protocol}`);
  return u.href.replace(/\/+$/, '');
}
