/** Android simulators: the FCM HTTP v1 fake with its token endpoint, simulated agents, test service accounts. */
export { AndroidAgent, type AndroidAgentOptions, type AgentOperation } from './android-agent.js';
export { FcmSimulator, type FcmDelivery, type InjectedFcmError, type ReceivedMessage } from './fcm-simulator.js';
export { createServiceAccount, type SimServiceAccount } from './service-account.js';
