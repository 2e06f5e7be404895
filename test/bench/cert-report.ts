/** The `## Certificates and mutual TLS` section of docs/BENCHMARKS.md, between its own markers. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { IssueAuthority } from '../../certificate-service/src/index.js';
import type { CertConfig } from './cert-bench.js';
import type { ClientKeyType, HandshakeRun } from './cert-handshake.js';
import type { IssueResult } from './cert-issue.js';
import type { SpeedResult } from './cert-openssl.js';
import type { ToolRun } from './cluster-procs.js';
import type { Machine } from './machine.js';
import { DOC_PATH } from './report.js';
import { median } from './stats.js';

export interface OpensslSigningRun {
  authority: IssueAuthority;
  round: number;
  certificates: number;
  run: ToolRun;
}

export interface CertBenchResults {
  date: Date;
  durationS: number;
  machine: Machine;
  loadAverage: { start: number; end: number };
  pinned: boolean;
  revision: string;
  openssl: string;
  config: CertConfig;
  issuance: {
    speed: SpeedResult;
    service: IssueResult[];
    x509: OpensslSigningRun[];
    batch: OpensslSigningRun[];
    /** `openssl verify -purpose sslclient` of one certificate from each signer. */
    checks: Record<string, boolean>;
    csrSeconds: number;
    clkTck: number;
  };
  handshakes: { runs: HandshakeRun[]; sServerCommand: string; nodeVerified: number };
}

const START = '<!-- bench:cert:start -->';
const END = '<!-- bench:cert:end -->';
const HEADING = '## Certificates and mutual TLS';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const ms = (n: number) => (!Number.isFinite(n) ? '—' : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number) => (!Number.isFinite(n) ? '—' : `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×`);
const pct = (n: number) => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '—');
const load = (n: number) => n.toFixed(2);

const AUTHORITIES: IssueAuthority[] = ['ECC', 'RSA'];
const AUTHORITY_LABEL: Record<IssueAuthority, string> = { ECC: 'ECC (P-256, ECDSA-SHA256)', RSA: 'RSA-2048 (SHA256withRSA)' };

/** One signer's runs for one CA: medians over rounds. */
interface SignerSummary {
  rates: number[];
  rate: number;
  /** CPU seconds per certificate. */
  cpuPerCert: number;
  latencyP50?: number;
  latencyP99?: number;
}

function serviceSummary(r: CertBenchResults, authority: IssueAuthority, concurrency: number): SignerSummary {
  const runs = r.issuance.service.flatMap((x) => x.runs).filter((x) => x.authority === authority && x.concurrency === concurrency);
  return {
    rates: runs.map((x) => x.certsPerSec),
    rate: median(runs.map((x) => x.certsPerSec)),
    cpuPerCert: median(runs.map((x) => (x.cpuUser + x.cpuSystem) / x.issued)),
    latencyP50: median(runs.map((x) => x.latency.p50)),
    latencyP99: median(runs.map((x) => x.latency.p99)),
  };
}

function opensslSummary(runs: OpensslSigningRun[], authority: IssueAuthority): SignerSummary {
  const rs = runs.filter((x) => x.authority === authority);
  const rates = rs.map((x) => x.certificates / (x.run.wallMs / 1000));
  return { rates, rate: median(rates), cpuPerCert: median(rs.map((x) => x.run.cpuSeconds / x.certificates)) };
}

/** One handshake configuration: medians over rounds. */
interface HandshakeSummary {
  runs: HandshakeRun[];
  rate: number;
  serverCpu: number;
  serverSystem: number;
  perCore: number;
  /** Server CPU per handshake (or login), µs. */
  usPer: number;
  clientCpu: number;
  p50: number;
  p99: number;
  others: number;
}

function handshakeSummary(
  all: HandshakeRun[],
  server: string,
  mode: HandshakeRun['mode'],
  keyType: ClientKeyType,
): HandshakeSummary | undefined {
  const runs = all.filter((x) => x.server === server && x.mode === mode && x.keyType === keyType);
  if (runs.length === 0) return undefined;
  const m = (f: (x: HandshakeRun) => number) => median(runs.map(f));
  const server_ = (x: HandshakeRun) => x.cpu.procs['server']?.cores ?? NaN;
  return {
    runs,
    rate: m((x) => x.perSec),
    serverCpu: m(server_),
    serverSystem: m((x) => x.cpu.procs['server']?.system ?? NaN),
    perCore: m((x) => x.perSec / server_(x)),
    usPer: m((x) => (server_(x) / x.perSec) * 1e6),
    clientCpu: m((x) => x.cpu.procs['client']?.cores ?? NaN),
    p50: m((x) => x.latency.p50),
    p99: m((x) => x.latency.p99),
    others: m((x) => x.cpu.others),
  };
}

const SERVER_LABEL: Record<string, string> = {
  hub: "the hub's TLS listener",
  'node-tls': 'bare Node TLS server, same options',
  s_server: '`openssl s_server -Verify`',
};
const KEY_LABEL: Record<ClientKeyType, string> = {
  ecdsa: 'ECDSA P-256 (ECC CA)',
  rsa: 'RSA-2048 (RSA CA)',
  none: 'none (server authentication only)',
};

export function renderCertSection(r: CertBenchResults): string {
  const { config: c, machine: m } = r;
  const iss = r.issuance;
  const sp = iss.speed;
  const rawSign = (a: IssueAuthority) => median(iss.service.map((x) => x.rawSignPerSec[a]));
  const speedSign = (a: IssueAuthority) => (a === 'ECC' ? sp.ecdsap256.sign : sp.rsa2048.sign);

  const signerRow = (a: IssueAuthority, label: string, x: SignerSummary) =>
    `| ${AUTHORITY_LABEL[a]} | ${label} | **${int(x.rate)}** | ${x.rates.map(int).join(', ')} | ${ms(x.cpuPerCert * 1000)} | ${int(1 / x.cpuPerCert)} | ${x.latencyP50 !== undefined ? `${ms(x.latencyP50)} / ${ms(x.latencyP99 ?? NaN)}` : '—'} |`;
  const issuanceRows = AUTHORITIES.flatMap((a) => {
    const [one, many] = [serviceSummary(r, a, c.concurrency[0]!), serviceSummary(r, a, c.concurrency[c.concurrency.length - 1]!)];
    const x509 = opensslSummary(iss.x509, a);
    const batch = opensslSummary(iss.batch, a);
    return [
      signerRow(a, `\`CertificateService.issue\`, ${c.concurrency[0]} in flight`, one),
      signerRow(a, `\`CertificateService.issue\`, ${c.concurrency[c.concurrency.length - 1]} in flight`, many),
      signerRow(a, `\`openssl x509 -req\`, one process per certificate (${c.x509PerCert} CSRs)`, x509),
      signerRow(a, `\`openssl ca -batch\`, one process for all ${c.csrs}`, batch),
      `| ${AUTHORITY_LABEL[a]} | raw signature: node:crypto \`sign\` with this CA's key (in the worker) / \`openssl speed\` | ${int(rawSign(a))} / ${int(speedSign(a))} sign/s | | ${ms(1000 / rawSign(a))} / ${ms(1000 / speedSign(a))} | | |`,
      `| ${AUTHORITY_LABEL[a]} | **issue (${c.concurrency[c.concurrency.length - 1]} in flight) ÷ x509 -req per certificate** | **${ratio(many.rate / x509.rate)}** | | | **${ratio(x509.cpuPerCert / many.cpuPerCert)}** | |`,
      `| ${AUTHORITY_LABEL[a]} | **issue (${c.concurrency[c.concurrency.length - 1]} in flight) ÷ ca batch** | **${ratio(many.rate / batch.rate)}** | | | **${ratio(batch.cpuPerCert / many.cpuPerCert)}** | |`,
    ];
  });

  const hs = r.handshakes.runs;
  const hRow = (keyType: ClientKeyType, server: string, mode: HandshakeRun['mode']) => {
    const x = handshakeSummary(hs, server, mode, keyType);
    if (!x) return undefined;
    const what = mode === 'connect' ? 'handshake + signed CONNECT → CONNACK' : 'full handshake';
    return `| ${KEY_LABEL[keyType]} | ${SERVER_LABEL[server] ?? server} | ${what} | **${int(x.rate)}** | ${x.runs.map((q) => int(q.perSec)).join(', ')} | ${pct(x.serverCpu)} (${pct(x.serverSystem)}) | **${int(x.perCore)}** | ${int(x.usPer)} | ${pct(x.clientCpu)} | ${ms(x.p50)} / ${ms(x.p99)} | ${pct(x.others)} |`;
  };
  const hRatio = (keyType: ClientKeyType, label: string, a: [string, HandshakeRun['mode']], b: [string, HandshakeRun['mode']]) => {
    const x = handshakeSummary(hs, a[0], a[1], keyType);
    const y = handshakeSummary(hs, b[0], b[1], keyType);
    if (!x || !y) return undefined;
    return `| ${KEY_LABEL[keyType]} | **${label}** | | ${ratio(x.rate / y.rate)} | | | **${ratio(x.perCore / y.perCore)}** | ${ratio(x.usPer / y.usPer)} | | | |`;
  };
  const handshakeRows = (['ecdsa', 'rsa', 'none'] as const).flatMap((k) =>
    [
      hRow(k, 'hub', 'handshake'),
      hRow(k, 'node-tls', 'handshake'),
      hRow(k, 's_server', 'handshake'),
      hRow(k, 'hub', 'connect'),
      hRatio(k, 'hub ÷ bare Node', ['hub', 'handshake'], ['node-tls', 'handshake']),
      hRatio(k, 'hub ÷ s_server', ['hub', 'handshake'], ['s_server', 'handshake']),
      hRatio(k, 'bare Node ÷ s_server', ['node-tls', 'handshake'], ['s_server', 'handshake']),
    ].filter((x): x is string => x !== undefined),
  );

  return [
    `_Written by \`npm run bench\` (test/bench/cert-bench.ts); everything between the \`bench:cert\` markers is replaced on the next run._`,
    '',
    `- **Command:** \`npm run bench -- cert\` (this group alone; it took ${r.durationS.toFixed(0)} s)`,
    `- **Date:** ${r.date.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- **Machine:** ${m.nproc} CPUs (\`nproc\`), ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.kernel}; temp dir (certificate store, CSRs) on ${m.tmpFilesystem}; 1-minute load average **${load(r.loadAverage.start)} at the start, ${load(r.loadAverage.end)} at the end** of this group`,
    `- **Software:** Node ${m.node}; ${r.openssl}; the certificate service and the hub at commit ${r.revision}.`,
    `- **Placement:** ${r.pinned ? '' : '**taskset was not available: nothing was pinned.** '}every signer (the issuance worker, each openssl command) and every TLS server (the hub, the bare Node server, s_server) on CPU ${c.signerCpu} (\`taskset\`), the TLS client on CPU ${c.clientCpu}. CPU time: \`/proc/<pid>/stat\` of the worker and the servers (all threads), and for openssl commands the shell's \`times\` (all processes it ran); "others" is CPU time on the machine outside the processes measured.`,
    '',
    `### Issuing certificates from CSRs`,
    '',
    `${c.csrs} CSRs (plus ${c.warmupCsrs} for warm-up) made before anything is timed with \`openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256\`, each with its own key and its own CN, in the subject form the CA requires (C, ST, O as the CA's, L, OU, CN); making them took ${iss.csrSeconds.toFixed(1)} s. One CA, generated by the service (an RSA-2048 root, an RSA-2048 and an EC P-256 issuing CA), signs everything, validity ${c.validDays} days. ` +
      `**\`CertificateService.issue\`** runs in-process in a worker (test/bench/cert-issue.ts) over a fresh store for every run: it checks the CSR (parse, algorithms, self-signature, subject rules), checks that no valid certificate holds the CN, draws a random serial, builds and signs the leaf (the CSR read once by the service's own DER reader, its self-signature checked and the leaf signed by node:crypto, the leaf's DER written once) and appends the record to its JSON-lines log, fdatasync'd before the call returns (group commit: the calls queued while a sync runs share the next write and sync). ` +
      `**\`openssl x509 -req\`** signs ${c.x509PerCert} of the same CSRs with the same CA key and the same extensions (CA:FALSE, keyUsage, EKU clientAuth, SKI, AKI, CRL distribution point), one process per certificate from one shell loop: the cost of shelling out per certificate, process start included. ` +
      `**\`openssl ca -batch -infiles\`** signs all ${c.csrs} in one process, with its text database and \`unique_subject = yes\` (its own duplicate-subject check), writing each certificate to a file; nothing is fsync'd. ` +
      `${c.issueRounds} rounds, each running every signer once per CA, the order reversed in the second; medians. One certificate of each signer and CA was checked with \`openssl verify -purpose sslclient\` (${Object.values(iss.checks).every(Boolean) ? 'all verified' : 'SOME FAILED'}). Raw signing: \`${sp.command}\`, pinned like the signers, and node:crypto \`sign\` (what \`issue\` signs with) with the issuing CA's own key object, one at a time, in the worker.`,
    '',
    '| Issuing CA | Signer | certificates/s (median) | each round | CPU per certificate, ms | certificates per CPU-second | per call p50 / p99, ms |',
    '|---|---|---:|---|---:|---:|---:|',
    ...issuanceRows,
    '',
    `### Mutual-TLS handshakes`,
    '',
    `The hub (the binary, on a fresh data directory, its embedded certificate service on) issues ${c.identities} ECDSA P-256 device certificates (ECC CA) and ${c.identities} RSA-2048 ones (RSA CA) through its REST API (\`certificates?action=apply\`, CSRs from \`openssl req\`) for devices of a product with \`biDirectionalAuth\`. Three servers then take the same handshakes, all with the hub's server key and certificate (ECDSA P-256, issued by the hub's own CA) and trusting the same CAs (root + both issuing CAs): **the hub's TLS listener** (client certificates requested and verified against those CAs, \`rejectUnauthorized: false\`, the revocation set checked in memory after the handshake, then the connection handed to aedes); **a bare Node TLS server** with the same options and nothing behind it (test/bench/cert-tls-server.ts); **\`${r.handshakes.sServerCommand.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:<port>').replace(/ \/\S+/g, ' …')}\`** (OpenSSL's test server: it requires and verifies the client certificate, and serves one connection at a time). ` +
      `The client (test/bench/cert-handshake.ts, Node \`tls.connect\`, one SecureContext per certificate made once, no session offered so every handshake is full, the server's certificate not verified by the client) keeps ${c.handshakeConcurrency} handshakes in flight. A handshake counts when the server's first TLS 1.3 NewSessionTicket arrives: the server sends it only after it has read the client's Finished, i.e. after verifying the client's chain and CertificateVerify (the client's own "secureConnect" comes before that); the client then closes. For the hub, "handshake + CONNECT" also sends the signed CONNECT of the device the certificate is bound to and counts at its CONNACK 0 (the hub checks the certificate's binding and the signature, registers the session, marks the device online in the store; then DISCONNECT, and offline). ` +
      `"none" presents no client certificate (the hub and the Node server allow that at the TLS layer; s_server -Verify does not): server authentication only, to show what verifying a client certificate adds. ${c.handshakeWarmupMs / 1000} s warm-up, then ${c.handshakeMeasureMs / 1000} s per run; ${c.handshakeRounds} rounds, the order of the runs reversed in the second; medians, each round listed. The bare Node server saw ${int(r.handshakes.nodeVerified)} client chains verified and none that failed. Negotiated: ${[...new Set(hs.map((x) => x.protocol))].join(', ')}.`,
    '',
    '| Client certificate | Server | Counted | per s (median) | each round | server CPU (sys) | per server core-second | server CPU each, µs | client CPU | latency p50 / p99, ms | others |',
    '|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|',
    ...handshakeRows,
    '',
    `"Per server core-second" divides the rate by the server's CPU: the rate if the server had its core to itself and used all of it. The client (one Node process on one core) is usually the limit of the rate, so that column, and "server CPU each", are the ones to compare between servers.`,
    '',
    '### Reading these numbers',
    '',
    ...interpretation(r),
  ].join('\n');
}

function interpretation(r: CertBenchResults): string[] {
  const c = r.config;
  const iss = r.issuance;
  const many = c.concurrency[c.concurrency.length - 1]!;
  const svc = (a: IssueAuthority, n: number) => serviceSummary(r, a, n);
  const x509 = (a: IssueAuthority) => opensslSummary(iss.x509, a);
  const batch = (a: IssueAuthority) => opensslSummary(iss.batch, a);
  const rawSign = (a: IssueAuthority) => median(iss.service.map((x) => x.rawSignPerSec[a]));
  const signShare = (a: IssueAuthority) => 1 / rawSign(a) / svc(a, many).cpuPerCert;
  const hs = r.handshakes.runs;
  const h = (server: string, mode: HandshakeRun['mode'], k: ClientKeyType) => handshakeSummary(hs, server, mode, k);
  const us = (x: HandshakeSummary | undefined) => x?.usPer ?? NaN;
  const per = (x: HandshakeSummary | undefined) => x?.perCore ?? NaN;
  const clientBound = hs.filter((x) => (x.cpu.procs['client']?.cores ?? 0) >= 0.85).length;
  const mtlsCost = us(h('hub', 'handshake', 'ecdsa')) / us(h('hub', 'handshake', 'none'));
  return [
    `- **Issuance: ${int(svc('ECC', many).rate)} certificates/s with the ECC CA and ${int(svc('RSA', many).rate)}/s with the RSA CA** through \`CertificateService.issue\` (${many} in flight; ${int(svc('ECC', 1).rate)} and ${int(svc('RSA', 1).rate)}/s one at a time, each call then waiting for its own fdatasync: p50 ${ms(svc('ECC', 1).latencyP50 ?? NaN)} ms). That is ${ms(svc('ECC', many).cpuPerCert * 1000)} ms and ${ms(svc('RSA', many).cpuPerCert * 1000)} ms of CPU per certificate. ` +
      `The signature ${signShare('RSA') < 0.25 ? 'is a small part of it' : 'is part of it'}: ${ms(1000 / rawSign('ECC'))} ms (ECDSA) and ${ms(1000 / rawSign('RSA'))} ms (RSA-2048) with the same key, ${pct(signShare('ECC'))} and ${pct(signShare('RSA'))} of the CPU per certificate${signShare('RSA') < 0.25 ? `, which is why the two CAs differ so little (${ratio(svc('ECC', many).rate / svc('RSA', many).rate)}) while their raw signing differs ${ratio(rawSign('ECC') / rawSign('RSA'))}` : ''}. ` +
      `The rest is reading the CSR, importing its key and checking its self-signature (an ECDSA verify costs about twice an ECDSA sign), writing the leaf, and the store's record and sync: the profile, before and after, is under "Where the microseconds per certificate go" below (\`BENCH_PROFILE=<dir> npm run bench -- cert\` takes it again).`,
    `- **Against OpenSSL:** one \`openssl x509 -req\` per certificate gives ${int(x509('ECC').rate)} (ECC) and ${int(x509('RSA').rate)}/s (RSA) at ${ms(x509('ECC').cpuPerCert * 1000)} ms of CPU each, nearly all of it starting the process and loading its configuration and keys (docs/PERFORMANCE-NOTES.md §4: ~41/s): the service is **${ratio(svc('ECC', many).rate / x509('ECC').rate)}** (ECC) and **${ratio(svc('RSA', many).rate / x509('RSA').rate)}** (RSA) faster than shelling out per certificate. ` +
      `\`openssl ca\` signing the whole batch in one process does ${int(batch('ECC').rate)} and ${int(batch('RSA').rate)}/s (${ms(batch('ECC').cpuPerCert * 1000)} and ${ms(batch('RSA').cpuPerCert * 1000)} ms of CPU each, its text-database bookkeeping and file writes included, without any fsync): the service does **${ratio(svc('ECC', many).rate / batch('ECC').rate)}** and **${ratio(svc('RSA', many).rate / batch('RSA').rate)}** of that. ` +
      `The raw-signing ceilings on one core are ${int(r.issuance.speed.ecdsap256.sign)} (ECDSA P-256) and ${int(r.issuance.speed.rsa2048.sign)} (RSA-2048) signatures/s (\`openssl speed\`), and node:crypto reaches ${int(rawSign('ECC'))} and ${int(rawSign('RSA'))}/s one at a time in the worker. At the service's rate a fleet of 100,000 devices gets its certificates in about ${int(100_000 / svc('ECC', many).rate / 60)} minutes of one core (ECC CA): issuance speed matters for mass onboarding and rotation campaigns, not for steady operation (a certificate per device, renewed every year or two).`,
    `- **Handshakes, ECDSA client certificates:** the hub's listener does ${int(per(h('hub', 'handshake', 'ecdsa')))} full mutual-TLS handshakes per server core-second (${int(us(h('hub', 'handshake', 'ecdsa')))} µs of CPU each), the bare Node server ${int(per(h('node-tls', 'handshake', 'ecdsa')))} (${int(us(h('node-tls', 'handshake', 'ecdsa')))} µs) and s_server ${int(per(h('s_server', 'handshake', 'ecdsa')))} (${int(us(h('s_server', 'handshake', 'ecdsa')))} µs). ` +
      `Hub ÷ bare Node is the hub's own share (the revocation lookup, handing the socket to aedes, and aedes' per-connection setup and teardown on close): ${ratio(per(h('hub', 'handshake', 'ecdsa')) / per(h('node-tls', 'handshake', 'ecdsa')))} per core-second. Bare Node ÷ s_server is Node's TLS socket layer over the same OpenSSL (${ratio(per(h('node-tls', 'handshake', 'ecdsa')) / per(h('s_server', 'handshake', 'ecdsa')))}). With RSA-2048 client certificates: hub ${int(per(h('hub', 'handshake', 'rsa')))}, bare Node ${int(per(h('node-tls', 'handshake', 'rsa')))}, s_server ${int(per(h('s_server', 'handshake', 'rsa')))} per core-second, i.e. ${ratio(per(h('hub', 'handshake', 'rsa')) / per(h('hub', 'handshake', 'ecdsa')))} the ECDSA figure for the hub: the server only verifies with the client's key (an RSA-2048 verify is cheaper than an ECDSA P-256 one, docs/PERFORMANCE-NOTES.md §4); the expensive RSA signature is the client's (see its CPU).`,
    `- **What the client certificate costs:** without one, the same servers do ${int(per(h('hub', 'handshake', 'none')))} (hub) and ${int(per(h('node-tls', 'handshake', 'none')))} (bare Node) handshakes per core-second, so verifying an ECDSA client chain costs ${int(us(h('hub', 'handshake', 'ecdsa')) - us(h('hub', 'handshake', 'none')))} µs more per handshake in the hub (${ratio(us(h('hub', 'handshake', 'ecdsa')) / us(h('hub', 'handshake', 'none')))} the CPU) and ${int(us(h('node-tls', 'handshake', 'ecdsa')) - us(h('node-tls', 'handshake', 'none')))} µs in the bare server. ${mtlsCost > 1.3 ? `docs/PERFORMANCE-NOTES.md §4 reported mTLS adding only 5–15% in TLS 1.3; that did not reproduce here, with this three-level chain (leaf, issuing CA, RSA-2048 root) on OpenSSL 3.0. A one-off \`openssl s_time\` check against s_server while writing this benchmark (not part of it) showed the same kind of gap in C alone: ~0.5 ms of server CPU per handshake without a client certificate, ~1.2 ms with one (also with a two-level chain), so the cost is OpenSSL's client-authentication path (decoding the client's certificate, verifying its chain and its CertificateVerify), not Node's.` : 'docs/PERFORMANCE-NOTES.md §4 reported 5–15% for TLS 1.3 mTLS.'}`,
    `- **A full device login over mutual TLS** (handshake + signed CONNECT → CONNACK, then DISCONNECT) costs the hub ${int(us(h('hub', 'connect', 'ecdsa')))} µs of CPU with an ECDSA certificate and ${int(us(h('hub', 'connect', 'rsa')))} µs with an RSA one, i.e. ${int(per(h('hub', 'connect', 'ecdsa')))} and ${int(per(h('hub', 'connect', 'rsa')))} logins per core-second. The MQTT part, the difference to the handshake alone, is ${int(us(h('hub', 'connect', 'ecdsa')) - us(h('hub', 'handshake', 'ecdsa')))} µs (ECDSA run) for CONNECT and DISCONNECT together: parsing the ClientId, the device and product from the store, the signature, the certificate's binding to the device (a store lookup by serial), the session, and the online and offline writes. Plan reconnect storms of mTLS devices with that figure per core. On the TLS side the client-certificate check above is the largest part; session resumption (docs/PERFORMANCE-NOTES.md §4: 4–5× cheaper; a resumed session skips the client's chain) is the lever, with the ECDSA server certificate the hub already uses by default.`,
    `- **Not measured here:** TLS 1.2, session resumption, RSA server certificates, CRL or OCSP fetching (the hub checks revocation from memory; s_server checks none), memory per held TLS connection, networks with real round trips, the standalone certificate service over HTTP, issuance through the REST API (HMAC-signed request, JSON) rather than in-process. ${clientBound > 0 ? `In ${clientBound} of ${hs.length} handshake runs the client's core was at least 85% busy: those rates are the client's, and only the per-core-second figures describe the servers. ` : ''}s_server handles one connection at a time, so its rate also waits on the client between messages; its per-core-second figure is the comparable one.`,
    `- **The machine.** A ${r.machine.nproc}-CPU virtual machine shared with other work: the 1-minute load average was ${load(r.loadAverage.start)} when this group started and ${load(r.loadAverage.end)} when it ended; other processes took up to ${pct(Math.max(...hs.map((x) => x.cpu.others)))} of a core during the handshake runs ("others"). The issuance worker's rates are wall-clock and suffer from that directly; its CPU per certificate much less. None of this is a capacity figure for production.`,
  ];
}

/** Replaces the certificates section between its markers; if it is missing, adds it at the end. */
export async function writeCertSection(section: string): Promise<string> {
  const block = `${START}\n${section}\n${END}`;
  if (!existsSync(DOC_PATH)) throw new Error(`${DOC_PATH} is missing; run the REST group first to create it`);
  let doc = await readFile(DOC_PATH, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start >= 0 && end > start) doc = doc.slice(0, start) + block + doc.slice(end + END.length);
  else doc = `${doc.trimEnd()}\n\n${HEADING}\n\n${block}\n`;
  await writeFile(DOC_PATH, doc);
  return DOC_PATH;
}
