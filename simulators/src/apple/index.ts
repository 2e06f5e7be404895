/** Apple MDM simulators: the APNs HTTP/2 fake, the simulated iPhone, the fleet runner and their test PKI. */
export { ApnsSimulator, type ApnsSimulatorOptions, type ReceivedPush } from './apns-simulator.js';
export { IphoneAgent, type IphoneAgentOptions, type ExecutedCommand } from './iphone-agent.js';
export { MdmSigner } from './mdm-signature.js';
export { createCa, issue, issuePushCertificate, uidOid, type Identity, type SimCa, type IssueOptions } from './pki.js';
