import type { ApiClient } from '@edgehub/hub';
import type { DeviceCredentials } from './mqtt-device.js';

export interface ProvisionedDevice extends DeviceCredentials {
  assetId: string;
}

export interface ProvisionedProduct {
  productKey: string;
  productSecret: string;
  devices: ProvisionedDevice[];
}

/** Creates a product and its devices through the signed REST API, as an org engineer would. */
export async function provision(
  client: ApiClient,
  orgId: string,
  spec: { productType: 'Device' | 'Gateway'; deviceKeys: string[]; product?: Record<string, unknown> },
): Promise<ProvisionedProduct> {
  const p = await client.ok<string>(
    'POST',
    '/connect-service/v2.1/products',
    { action: 'create', orgId },
    {
      productName: { defaultValue: `${spec.productType} product` },
      productType: spec.productType,
      dataFormat: 'Json',
      biDirectionalAuth: false,
      ...spec.product,
    },
  );
  const product = await client.ok<{ productSecret: string }>('GET', '/connect-service/v2.1/products', {
    action: 'get',
    orgId,
    productKey: p.data,
  });
  const devices: ProvisionedDevice[] = [];
  if (spec.deviceKeys.length > 0) {
    const r = await client.ok<
      { code: number; msg: string; data: { assetId: string; productKey: string; deviceKey: string; deviceSecret: string } | null }[]
    >(
      'POST',
      '/connect-service/v2.1/devices',
      { action: 'batchCreate', orgId },
      {
        deviceList: spec.deviceKeys.map((deviceKey) => ({
          productKey: p.data,
          deviceKey,
          timezone: '+08:00',
          deviceName: { defaultValue: deviceKey },
        })),
      },
    );
    for (const item of r.data) {
      if (!item.data) throw new Error(`device not created: ${item.code} ${item.msg}`);
      devices.push({
        assetId: item.data.assetId,
        productKey: item.data.productKey,
        deviceKey: item.data.deviceKey,
        secret: item.data.deviceSecret,
      });
    }
  }
  return { productKey: p.data, productSecret: product.data.productSecret, devices };
}
