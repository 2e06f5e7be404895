import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { LocalMqttListener } from './local-mqtt/listener.js';
import { ApiClient, ApiError } from '@edgehub/shared/api-client';
import { loadRegistration, saveRegistration } from './registration/cache.js';
import type { Logger } from 'pino';
import { openReadingBuffer, type ReadingBuffer } from './buffer/index.js';
import { RefusedReadings } from './buffer/refused-readings.js';
import type { EdgeConfig, SouthboundDeviceConfig } from './config/types.js';
import { handleDownstream } from './proxy/commands.js';
import { nodeStateOf, postConnectionState } from './proxy/connection-state.js';
import { loginSubDevices } from './proxy/login.js';
import type { SouthReading, SouthState, Southbound } from './proxy/southbound-port.js';
import { TelemetryPath } from './proxy/telemetry-path.js';
import { RegistrationError, ensureSubDevices, type SubDeviceCredentials } from './registration/sub-devices.js';
import { registerOverMqtt } from './registration/over-mqtt.js';
import { applyBindings, loadBindings, saveBindings, type Bindings } from './registration/bindings.js';
import { fetchMeasurepointTypes, registerMapProblems } from './registration/thing-model-check.js';
import { EdgeConfigError } from './config/load.js';
import { parseDeviceConfig } from './config/device-check.js';
import { checkSouthboundDevices } from './southbound-factory.js';
import { topics } from '@edgehub/shared';
import { Uplink, type UplinkOptions, type UplinkRefusal } from './uplink/uplink.js';

/** Certificate mode (key, CSR, X.509 parsing) loads only when the config turns it on (docs/BENCHMARKS.md, Edge runtime). */
const certificateMode = () => import('./certificate-mode.js');
export type SouthboundFactory = (devices: SouthboundDeviceConfig[], southbound: EdgeConfig['southbound']) => Southbound;

export interface EdgeStatus {
  /** refusal: set while the hub keeps refusing the gateway's CONNECT (count, last CONNACK code and text). */
  uplink: { connected: boolean; since: number | null; url: string; mutualTls: boolean; refusal: UplinkRefusal | null };
  buffer: { readings: number; bytes: number; stats: ReturnType<ReadingBuffer['stats']> };
  telemetry: TelemetryPath['stats'];
  /** Readings kept aside since the start because the hub refused or skipped them, and where. */
  refused: { count: number; file: string };
  subDevices: {
    deviceKey: string;
    assetId: string;
    loggedIn: boolean;
    disabled: boolean;
    southbound: SouthState['state'] | 'unknown';
    lastReading: number | null;
  }[];
}

/** A config center bind that was refused: nothing changed. `status` is the HTTP status to answer. */
export class BindError extends Error {
  override name = 'BindError';
  constructor(
    readonly status: 400 | 503,
    message: string,
  ) {
    super(message);
  }
}

export interface EdgeEvents {
  up: [];
  down: [];
  reading: [SouthReading];
  /** The hub refused the gateway's CONNECT (count of refusals in a row, last CONNACK). */
  refused: [UplinkRefusal];
  /** A southbound device's reachability changed. */
  state: [SouthState];
}

/**
 * The edge runtime: registers the sub-devices, keeps one uplink as the gateway, logs the
 * sub-devices in after every (re)connect, forwards southbound readings (buffering them through
 * outages), executes commands southbound and reports southbound reachability.
 */
export class Edge extends EventEmitter<EdgeEvents> {
  private southbound?: Southbound;
  private subs = new Map<string, SubDeviceCredentials>();
  private loggedIn = new Set<string>();
  private readonly disabled = new Set<string>();
  private readonly states = new Map<string, SouthState['state']>();
  private readonly latest = new Map<string, { time: number; values: Record<string, unknown> }>();
  private upSince: number | null = null;
  private devicesList: SouthboundDeviceConfig[] = [];
  /** The deviceKeys of the polled and the local MQTT sub-devices: looked up for every reading. */
  private configured = new Set<string>();
  private renewTimer?: NodeJS.Timeout;
  private mutualTls = false;
  private registered = false;
  private bindings: Bindings = { bound: [], unbound: [] };
  private local?: LocalMqttListener;
  /** Where the local MQTT listener listens, when configured. */
  localAddress?: AddressInfo;

  private constructor(
    readonly config: EdgeConfig,
    private readonly api: ApiClient,
    private readonly uplink: Uplink,
    private readonly buffer: ReadingBuffer,
    /** Readings the hub refused or skipped, kept aside (`GET /refused` on the config center). */
    readonly refused: RefusedReadings,
    readonly telemetry: TelemetryPath,
    private readonly makeSouthbound: SouthboundFactory,
    private readonly log: Logger,
  ) {
    super();
    this.devices = [...config.southbound.devices];
  }

  private get devices(): SouthboundDeviceConfig[] {
    return this.devicesList;
  }

  private set devices(list: SouthboundDeviceConfig[]) {
    this.devicesList = list;
    this.configured = new Set([...list, ...(this.config.localMqtt?.devices ?? [])].map((d) => d.deviceKey));
  }

  static async start(config: EdgeConfig, makeSouthbound: SouthboundFactory, log: Logger): Promise<Edge> {
    const api = new ApiClient({
      baseUrl: config.hub.url,
      accessKey: config.identity.serviceAccount.accessKey,
      accessSecret: config.identity.serviceAccount.accessSecret,
    });
    const buffer = await openReadingBuffer({
      dir: config.buffer.dir,
      maxBytes: config.buffer.maxBytes,
      maxAgeMs: config.buffer.maxAgeMs,
      dropPolicy: config.buffer.dropPolicy,
    });
    const uplinkOptions: UplinkOptions = { url: config.hub.mqttUrl, ...config.uplink };
    const ca = config.hub.caFile ? await readFile(config.hub.caFile) : undefined;
    const certs = config.certificate.mode === 'off' ? undefined : await (await certificateMode()).ensureCertificate(config, api, log);
    if (certs) {
      if (!config.hub.mqttsUrl) throw new Error('certificate mode needs hub.mqttsUrl');
      Object.assign(uplinkOptions, { url: config.hub.mqttsUrl, tls: { ...(ca ? { ca } : {}), key: certs.keyPem, cert: certs.certPem } });
    } else if (ca) {
      uplinkOptions.tls = { ca };
    }
    const { productKey, deviceKey, deviceSecret } = config.identity.gateway;
    const uplink = new Uplink({ productKey, deviceKey, deviceSecret }, uplinkOptions, log.child({ part: 'uplink' }));
    const refused = new RefusedReadings(config.buffer.dir);
    const telemetry = new TelemetryPath(uplink, buffer, { productKey, deviceKey }, refused, log.child({ part: 'telemetry' }));
    const edge = new Edge(config, api, uplink, buffer, refused, telemetry, makeSouthbound, log);
    edge.mutualTls = certs !== undefined;
    try {
      await edge.applySavedBindings();
      await edge.run();
    } catch (err) {
      // Nothing keeps running after a refused start: the caller gets the error and a closed buffer.
      await edge.stop().catch(() => undefined);
      throw err;
    }
    if (certs) edge.scheduleRenewal(certs.certPem);
    return edge;
  }

  private get bindingsFile(): string {
    return join(this.config.configDir, 'edge-bindings.json');
  }

  /** Binds and unbinds made through the config center before the last restart. */
  private async applySavedBindings(): Promise<void> {
    this.bindings = await loadBindings(this.bindingsFile);
    const devices = applyBindings(this.config.southbound.devices, this.bindings);
    try {
      checkSouthboundDevices(devices, this.config.southbound.models, 'devices');
    } catch (err) {
      throw new EdgeConfigError(`${this.bindingsFile} no longer fits the config file: ${(err as Error).message}`);
    }
    this.devices = devices;
  }

  private get registrationFile(): string {
    return join(this.config.configDir, 'edge-registration.json');
  }

  /**
   * Registers through the hub REST; when the hub cannot be reached, the last registration saved on
   * disk is used and the registration is tried again after the next connect: an edge restarted
   * during an outage keeps polling and buffering.
   */
  private async registerOrRecall(): Promise<void> {
    try {
      await this.checkRegisterMaps();
      this.subs = await this.register(this.devices);
      this.registered = true;
      await saveRegistration(this.registrationFile, this.subs);
    } catch (err) {
      if (
        err instanceof RegistrationError ||
        err instanceof EdgeConfigError ||
        (err instanceof ApiError && err.status > 0 && err.status < 500)
      )
        throw err;
      const cached = await loadRegistration(this.registrationFile);
      this.log.warn(
        { err: (err as Error).message, cached: cached?.size ?? 0 },
        'hub REST unreachable: using the saved registration, retrying after connect',
      );
      if (cached) this.subs = cached;
    }
  }

  private async run(): Promise<void> {
    if (this.config.registration !== 'mqtt') await this.registerOrRecall();
    else
      await this.checkRegisterMaps().catch((err: unknown) => {
        // Registration over MQTT happens after the connect; an unreachable REST is retried then.
        if (err instanceof EdgeConfigError) throw err;
        this.log.warn({ err: (err as Error).message }, 'could not check the register maps against the thing model now');
      });
    this.uplink.on('up', () => void this.onUp().catch((err: unknown) => this.log.error({ err }, 'after-connect steps failed')));
    this.uplink.on('refused', (r) => this.emit('refused', r));
    this.uplink.on('down', () => {
      this.upSince = null;
      this.loggedIn.clear();
      this.telemetry.pause();
      this.emit('down');
    });
    this.uplink.on(
      'downstream',
      (topic, msg) =>
        void handleDownstream(this.commandContext(), topic, msg).catch((err: unknown) => this.log.error({ err, topic }, 'command failed')),
    );
    this.startSouthbound();
    await this.startLocalMqtt();
    this.uplink.start();
  }

  /**
   * The register maps against the sub-device product's thing model, before any device is
   * registered: a point the hub would refuse stops the start with its key named (exit 2).
   */
  private async checkRegisterMaps(): Promise<void> {
    const { orgId, subDeviceProductKey } = this.config.identity;
    const problems = registerMapProblems(
      this.devices,
      this.config.southbound.models,
      await fetchMeasurepointTypes(this.api, orgId, subDeviceProductKey),
      subDeviceProductKey,
    );
    if (problems.length > 0) throw new EdgeConfigError(problems.join('\n'));
  }

  private async register(devices: SouthboundDeviceConfig[]): Promise<Map<string, SubDeviceCredentials>> {
    const { orgId, subDeviceProductKey, gateway } = this.config.identity;
    const mode = this.config.registration === 'static' ? 'static' : 'dynamic';
    const wanted = [...devices, ...(this.config.localMqtt?.devices ?? [])].map((d) => ({
      deviceKey: d.deviceKey,
      ...(d.name ? { name: d.name } : {}),
    }));
    return ensureSubDevices(this.api, { orgId, subDeviceProductKey, gateway }, wanted, mode, this.log.child({ part: 'registration' }));
  }

  /** A configured sub-device: polled over Modbus or connected to the local MQTT listener. */
  private isConfigured(deviceKey: string): boolean {
    return this.configured.has(deviceKey);
  }

  /** Starts the local MQTT listener for sub-devices that speak MQTT themselves. */
  private async startLocalMqtt(): Promise<void> {
    const cfg = this.config.localMqtt;
    if (!cfg) return;
    // aedes loads only when the config has a local MQTT listener (docs/BENCHMARKS.md, Edge runtime).
    const { LocalMqttListener } = await import('./local-mqtt/listener.js');
    const listener = new LocalMqttListener({
      credentials: (dk) => (cfg.devices.some((d) => d.deviceKey === dk) && !this.disabled.has(dk) ? this.subs.get(dk) : undefined),
      forward: (reading) => {
        this.latest.set(reading.deviceKey, { time: reading.time, values: reading.measurepoints });
        this.telemetry.add(reading);
        this.emit('reading', {
          deviceId: reading.deviceKey,
          time: reading.time,
          values: reading.measurepoints as Record<string, number | boolean>,
        });
      },
      log: this.log.child({ part: 'local-mqtt' }),
    });
    this.localAddress = await listener.listen(cfg.host, cfg.port);
    this.local = listener;
  }

  private async onUp(): Promise<void> {
    const gw = this.config.identity.gateway;
    if (this.config.registration !== 'mqtt' && !this.registered) await this.registerOrRecall();
    if (this.config.registration === 'mqtt' && this.subs.size < this.devices.length) {
      this.subs = await registerOverMqtt(this.uplink, this.api, this.config, this.devices, this.log.child({ part: 'registration' }));
    }
    const subs = [...this.subs.values()].filter((s) => !this.disabled.has(s.deviceKey));
    try {
      this.loggedIn = await loginSubDevices(
        this.uplink,
        gw,
        subs,
        this.config.uplink.maxOnlineSubDevices,
        this.log.child({ part: 'login' }),
      );
    } catch (err) {
      // Data still flows (post/batch with allowOfflineSubDevice); commands wait for the next login.
      this.log.warn({ err: (err as Error).message }, 'sub-device login failed; forwarding data anyway');
    }
    this.upSince = Date.now();
    await this.reportStates(true);
    await this.telemetry.resume();
    this.emit('up');
  }

  private startSouthbound(): void {
    const sb = this.makeSouthbound(this.devices, this.config.southbound);
    sb.on('reading', (r) => this.onReading(r));
    sb.on('state', (s) => {
      if (this.states.get(s.deviceId) === s.state) return;
      this.states.set(s.deviceId, s.state);
      this.emit('state', s);
      if (s.state !== 'connected') this.log.warn({ deviceKey: s.deviceId, error: s.error }, 'southbound device unreachable');
      void this.reportState(s.deviceId);
    });
    this.southbound = sb;
  }

  private onReading(r: SouthReading): void {
    // Configured devices are forwarded even before their registration completes: a reading needs
    // only the device's keys, which the config has (the secret is for logging in).
    if (this.disabled.has(r.deviceId) || !this.isConfigured(r.deviceId)) return;
    this.latest.set(r.deviceId, { time: r.time, values: r.values });
    this.telemetry.add({
      productKey: this.config.identity.subDeviceProductKey,
      deviceKey: r.deviceId,
      time: r.time,
      measurepoints: r.values,
    });
    this.emit('reading', r);
  }

  private async reportStates(isFull: boolean): Promise<void> {
    const nodes = this.devices.map((d) => this.nodeOf(d.deviceKey));
    await postConnectionState(this.uplink, this.config.identity.gateway, nodes, isFull);
  }

  private async reportState(deviceKey: string): Promise<void> {
    await postConnectionState(this.uplink, this.config.identity.gateway, [this.nodeOf(deviceKey)], false);
  }

  private nodeOf(deviceKey: string) {
    const assetId = this.subs.get(deviceKey)?.assetId;
    const name = this.devices.find((d) => d.deviceKey === deviceKey)?.name;
    return {
      nodeId: deviceKey,
      state: nodeStateOf(this.states.get(deviceKey)),
      ...(assetId ? { assetId } : {}),
      ...(name ? { name } : {}),
    };
  }

  private commandContext() {
    return {
      uplink: this.uplink,
      southbound: () => this.southbound,
      isOurs: (pk: string, dk: string) => pk === this.config.identity.subDeviceProductKey && this.subs.has(dk),
      latestValues: (dk: string) => this.latest.get(dk)?.values,
      disable: (dk: string) => {
        this.disabled.add(dk);
        this.loggedIn.delete(dk);
      },
      enable: async (dk: string) => {
        this.disabled.delete(dk);
        const s = this.subs.get(dk);
        if (s && this.uplink.connected)
          for (const k of await loginSubDevices(this.uplink, this.config.identity.gateway, [s], 1, this.log)) this.loggedIn.add(k);
      },
      log: this.log.child({ part: 'commands' }),
      relayToLocal: (dk: string, topic: string, msg: { id?: unknown }) =>
        this.local && (this.config.localMqtt?.devices ?? []).some((d) => d.deviceKey === dk)
          ? this.local.relay(dk, topic, msg, this.config.uplink.replyTimeoutMs)
          : undefined,
    };
  }

  /**
   * Binds a sub-device created beforehand in the hub (static registration, through the config
   * center). Everything is checked first — the device's keys and transport, its register map
   * against the poller's rules and the product's thing model, the hub knowing the device — and
   * nothing changes when a check fails: polling goes on, the hub topology is untouched. A bind is
   * saved in edge-bindings.json and survives a restart (docs/ARCHITECTURE.md, "Edge config center").
   */
  async bind(raw: unknown): Promise<SubDeviceCredentials> {
    let device: SouthboundDeviceConfig;
    let devices: SouthboundDeviceConfig[];
    try {
      device = parseDeviceConfig(raw);
      if ((this.config.localMqtt?.devices ?? []).some((d) => d.deviceKey === device.deviceKey))
        throw new TypeError(`deviceKey: ${device.deviceKey} is a local MQTT sub-device`);
      devices = [...this.devices.filter((d) => d.deviceKey !== device.deviceKey), device];
      checkSouthboundDevices(devices, this.config.southbound.models, 'devices');
    } catch (err) {
      throw new BindError(400, (err as Error).message);
    }
    const { orgId, subDeviceProductKey, gateway } = this.config.identity;
    let creds: SubDeviceCredentials;
    try {
      const problems = registerMapProblems(
        [device],
        this.config.southbound.models,
        await fetchMeasurepointTypes(this.api, orgId, subDeviceProductKey),
        subDeviceProductKey,
      );
      if (problems.length > 0) throw new BindError(400, problems.join('; '));
      // Only now does the hub change: the device joins this gateway's topology.
      const found = await ensureSubDevices(
        this.api,
        { orgId, subDeviceProductKey, gateway },
        [{ deviceKey: device.deviceKey, ...(device.name ? { name: device.name } : {}) }],
        'static',
        this.log,
      );
      creds = found.get(device.deviceKey)!;
    } catch (err) {
      if (err instanceof BindError) throw err;
      if (
        err instanceof RegistrationError ||
        err instanceof EdgeConfigError ||
        (err instanceof ApiError && err.status > 0 && err.status < 500)
      )
        throw new BindError(400, err.message);
      throw new BindError(503, `the hub could not be reached: ${(err as Error).message}`);
    }
    this.bindings = {
      bound: [...this.bindings.bound.filter((d) => d.deviceKey !== device.deviceKey), device],
      unbound: this.bindings.unbound.filter((k) => k !== device.deviceKey),
    };
    await saveBindings(this.bindingsFile, this.bindings);
    this.subs.set(device.deviceKey, creds);
    await saveRegistration(this.registrationFile, this.subs);
    this.devices = devices;
    await this.restartSouthbound();
    if (this.uplink.connected) for (const k of await loginSubDevices(this.uplink, gateway, [creds], 1, this.log)) this.loggedIn.add(k);
    return creds;
  }

  /** Stops proxying a sub-device: no more polling, logged out of the hub; saved, so it stays unbound after a restart. */
  async unbind(deviceKey: string): Promise<boolean> {
    if (!this.subs.has(deviceKey) || !this.devices.some((d) => d.deviceKey === deviceKey)) return false;
    const s = this.subs.get(deviceKey)!;
    this.bindings = {
      bound: this.bindings.bound.filter((d) => d.deviceKey !== deviceKey),
      unbound: [...new Set([...this.bindings.unbound, deviceKey])],
    };
    await saveBindings(this.bindingsFile, this.bindings);
    this.subs.delete(deviceKey);
    await saveRegistration(this.registrationFile, this.subs);
    this.devices = this.devices.filter((d) => d.deviceKey !== deviceKey);
    this.loggedIn.delete(deviceKey);
    await this.restartSouthbound();
    if (this.uplink.connected) {
      const gw = this.config.identity.gateway;
      await this.uplink
        .request(topics.combineLogout(gw.productKey, gw.deviceKey), 'combine.logout', { productKey: s.productKey, deviceKey: s.deviceKey })
        .catch(() => undefined);
    }
    return true;
  }

  private async restartSouthbound(): Promise<void> {
    const old = this.southbound;
    this.southbound = undefined;
    await old?.stop();
    this.startSouthbound();
  }

  private scheduleRenewal(certPem: string): void {
    void certificateMode()
      .then((m) => m.renewalDueAt(certPem))
      .then((due) => {
        const delay = Math.max(0, Math.min(due - Date.now(), 2 ** 31 - 1));
        this.renewTimer = setTimeout(() => void this.renewCertificate(), delay);
        this.renewTimer.unref();
      });
  }

  /** Renews the device certificate and switches the uplink over; readings meanwhile are buffered. */
  async renewCertificate(): Promise<void> {
    const certs = await (await certificateMode()).ensureCertificate(this.config, this.api, this.log, { renew: true });
    const ca = this.config.hub.caFile ? await readFile(this.config.hub.caFile) : undefined;
    this.uplink.reconfigure({ tls: { ...(ca ? { ca } : {}), key: certs.keyPem, cert: certs.certPem } });
    await this.telemetry.settle();
    await this.uplink.reconnect();
    this.scheduleRenewal(certs.certPem);
  }

  status(): EdgeStatus {
    return {
      uplink: {
        connected: this.uplink.connected,
        since: this.upSince,
        url: this.config.certificate.mode === 'off' ? this.config.hub.mqttUrl : (this.config.hub.mqttsUrl ?? ''),
        mutualTls: this.mutualTls,
        refusal: this.uplink.refusal ?? null,
      },
      buffer: { readings: this.buffer.size(), bytes: this.buffer.bytes(), stats: this.buffer.stats() },
      telemetry: { ...this.telemetry.stats },
      refused: { count: this.refused.count, file: this.refused.file },
      subDevices: [...this.subs.values()].map((s) => ({
        deviceKey: s.deviceKey,
        assetId: s.assetId,
        loggedIn: this.loggedIn.has(s.deviceKey),
        disabled: this.disabled.has(s.deviceKey),
        southbound: this.states.get(s.deviceKey) ?? 'unknown',
        lastReading: this.latest.get(s.deviceKey)?.time ?? null,
      })),
    };
  }

  async stop(): Promise<void> {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    await this.southbound?.stop();
    await this.local?.close();
    await this.telemetry.stop();
    await this.uplink.stop();
    await this.telemetry.stopped();
    await this.buffer.close();
  }
}
