import { ConfigError, loadConfig } from './config.js';
import { startCertificateServer } from './http/server.js';

/** `node --import tsx certificate-service/src/main.ts`: reads the config, opens the CA and store, listens. */
async function main(): Promise<void> {
  const config = loadConfig();
  const server = await startCertificateServer({
    dataDir: config.dataDir,
    host: config.host,
    port: config.port,
    sharedSecret: config.sharedSecrets,
    subject: config.subject,
    crlLifetimeHours: config.crlLifetimeHours,
    serialBits: config.serialBits,
    supersededGraceHours: config.supersededGraceHours,
    ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}),
    ...(config.caFiles ? { files: config.caFiles } : {}),
    ...(config.tls ? { tls: config.tls } : {}),
    httpLogger: { level: config.logLevel },
    logger: console,
  });
  const ca = server.service.authority;
  process.stdout.write(
    [
      '',
      `certificate service is running (CA: ${ca.source}, data: ${config.dataDir})`,
      `  CRLs          ${server.service.crlUrl('RSA')}  ${server.service.crlUrl('ECC')}`,
      `  CA certs      ${server.url}/ca/root.pem  ${server.url}/ca/chain/{RSA|ECC}.pem`,
      `  Hub API       ${server.url}/v1/ (signed with CERT_SERVICE_SECRET)`,
      `  CSR subject   C=${ca.subjectRules.C}, ST=${ca.subjectRules.ST}, O=${ca.subjectRules.O} (required)`,
      '',
    ].join('\n') + '\n',
  );
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('certificate service: error while shutting down', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? `configuration error: ${err.message}` : err);
  process.exit(1);
});
