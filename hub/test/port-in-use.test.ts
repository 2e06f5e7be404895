import { describe, expect, it } from 'vitest';
import { portInUseMessage } from '../src/port-in-use.js';

const config = { http: { port: 8080 }, mqtt: { port: 1883, tlsPort: 8883, wsPort: 8083 }, iosMdmTlsPort: 8443 };
const inUse = (port: number) => Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', port, address: '0.0.0.0' });

describe('portInUseMessage', () => {
  it('names the variable that moves the listener whose port is taken', () => {
    expect(portInUseMessage(inUse(8883), config)).toContain('set HUB_MQTTS_PORT to a free port');
  });

  // The Apple MDM TLS listener (HUB_IOS_MDM_TLS_PORT) came later: its taken port named the four other variables.
  it('names HUB_IOS_MDM_TLS_PORT when the Apple MDM TLS listener cannot bind', () => {
    expect(portInUseMessage(inUse(8443), config)).toContain('port 8443 on 0.0.0.0 is already in use');
    expect(portInUseMessage(inUse(8443), config)).toContain('set HUB_IOS_MDM_TLS_PORT to a free port');
  });

  it('says nothing of other errors', () => {
    expect(portInUseMessage(new Error('boom'), config)).toBeUndefined();
  });
});
