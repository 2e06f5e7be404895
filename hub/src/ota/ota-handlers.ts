/** The device's OTA topics (docs/ENOS-PROTOCOL.md §4.1, docs/PROTOCOL.md §7.3). */
import type { TopicKind } from '@edgehub/shared';
import type { UpstreamHandler } from '../router/context.js';
import { isObject, requireObject, shapeError } from '../router/model-check.js';
import type { OtaCampaigns } from './campaigns.js';

const VERSION = /^[A-Za-z0-9._+-]{1,64}$/;

export function otaHandlers(ota: OtaCampaigns): Partial<Record<TopicKind, UpstreamHandler>> {
  const otaInform: UpstreamHandler = async (req) => {
    const params = requireObject(req.request.params, 'params');
    const version = params['version'];
    if (typeof version !== 'string' || !VERSION.test(version))
      throw shapeError('params.version', 'must be a version string of 1 to 64 characters [A-Za-z0-9._+-]');
    await ota.inform(req.target, version);
    return { data: {} };
  };

  // `step` is a string in the EnOS examples ("20"), a number in some firmware: both are read.
  const otaProgress: UpstreamHandler = async (req) => {
    const params = requireObject(req.request.params, 'params');
    const raw = params['step'];
    const step = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(step) || step < -4 || step > 100)
      throw shapeError('params.step', 'must be 0 to 100, or -1 (upgrade), -2 (download), -3 (verification), -4 (flashing) failed');
    const desc = params['desc'];
    if (desc !== undefined && (typeof desc !== 'string' || desc.length > 1024))
      throw shapeError('params.desc', 'must be a string of at most 1024 characters');
    await ota.progress(req.target, step, desc);
    return { data: {} };
  };

  const otaGetVersion: UpstreamHandler = async (req) => {
    if (req.request.params !== undefined && !isObject(req.request.params)) throw shapeError('params', 'must be a JSON object');
    return { data: await ota.offerFor(req.target) };
  };

  // EnOS publishes only the topic constant; here it asks for the pending upgrade, pushed again on ota/device/upgrade.
  const otaRequest: UpstreamHandler = async (req) => {
    if (req.request.params !== undefined && !isObject(req.request.params)) throw shapeError('params', 'must be a JSON object');
    return { data: { pending: await ota.request(req.target) } };
  };

  return { otaInform, otaProgress, otaGetVersion, otaRequest };
}
