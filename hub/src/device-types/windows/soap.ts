import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { windowsErrors, type WindowsProtocolError } from './errors.js';

/**
 * The SOAP 1.2 envelopes of Windows enrollment (MS-MDE2 shape; docs/DEVICE-MANAGEMENT.md,
 * "Windows: enrollment"): read with namespace prefixes removed, written with the library's
 * builder so every value is escaped.
 */

export const soapContentType = 'application/soap+xml; charset=utf-8';
export const defaultMaxSoapBytes = 64 * 1024;

export const actions = {
  discover: 'http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover',
  discoverResponse: 'http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/DiscoverResponse',
  requestSecurityToken: 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep',
  requestSecurityTokenResponse: 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep',
  fault: 'http://www.w3.org/2005/08/addressing/soap/fault',
};

const ns = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  addressing: 'http://www.w3.org/2005/08/addressing',
  enrollment: 'http://schemas.microsoft.com/windows/management/2012/01/enrollment',
  trust: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  pki: 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment',
};

export const tokenTypes = {
  enrollmentToken: 'http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken',
  provisionDoc: 'http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc',
  pkcs10: 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10',
  base64: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary',
};

export type Node = Record<string, unknown>;
export const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  isArray: (name) => name === 'ContextItem',
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true, processEntities: true });

/** The text of an element that may carry attributes. */
export function textOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isNode(v) && typeof v['#text'] === 'string') return v['#text'];
  return undefined;
}

export interface SoapEnvelope {
  action: string;
  messageId?: string;
  header: Node;
  body: Node;
}

/** Parses a SOAP 1.2 request; anything else is 400 MalformedSoap, larger than the limit 413. */
export function parseSoap(body: Buffer | string, maxBytes = defaultMaxSoapBytes): SoapEnvelope {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > maxBytes) throw windowsErrors.tooLarge(maxBytes);
  const xml = typeof body === 'string' ? body : body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw windowsErrors.malformedSoap('DOCTYPE and entity declarations are not allowed');
  if (xml.trim() === '' || XMLValidator.validate(xml) !== true) throw windowsErrors.malformedSoap('not well-formed XML');
  const doc = parser.parse(xml) as unknown;
  const env = isNode(doc) ? doc['Envelope'] : undefined;
  if (!isNode(env) || !isNode(env['Body'])) throw windowsErrors.malformedSoap('not a SOAP envelope');
  const header = isNode(env['Header']) ? env['Header'] : {};
  const action = textOf(header['Action']);
  if (!action) throw windowsErrors.malformedSoap('no WS-Addressing Action');
  const messageId = textOf(header['MessageID']);
  return { action, header, body: env['Body'], ...(messageId ? { messageId } : {}) };
}

function envelope(action: string, relatesTo: string | undefined, body: Node): string {
  return builder.build({
    's:Envelope': {
      '@_xmlns:s': ns.soap,
      '@_xmlns:a': ns.addressing,
      's:Header': {
        'a:Action': { '@_s:mustUnderstand': '1', '#text': action },
        ...(relatesTo ? { 'a:RelatesTo': relatesTo } : {}),
      },
      's:Body': body,
    },
  });
}

export interface DiscoveryUrls {
  enrollmentServiceUrl: string;
}

/** DiscoverResponse: on-premise authentication (user name and enrollment secret), enrollment version 4.0. */
export function discoverResponse(urls: DiscoveryUrls, relatesTo: string | undefined): string {
  return envelope(actions.discoverResponse, relatesTo, {
    DiscoverResponse: {
      '@_xmlns': ns.enrollment,
      DiscoverResult: {
        AuthPolicy: 'OnPremise',
        EnrollmentVersion: '4.0',
        EnrollmentServiceUrl: urls.enrollmentServiceUrl,
      },
    },
  });
}

/** RequestSecurityTokenResponseCollection carrying the base64 provisioning document. */
export function enrollmentResponse(provisioningDoc: string, relatesTo: string | undefined): string {
  return envelope(actions.requestSecurityTokenResponse, relatesTo, {
    RequestSecurityTokenResponseCollection: {
      '@_xmlns': ns.trust,
      RequestSecurityTokenResponse: {
        TokenType: tokenTypes.enrollmentToken,
        DispositionMessage: { '@_xmlns': ns.pki },
        RequestedSecurityToken: {
          BinarySecurityToken: {
            '@_xmlns': ns.wsse,
            '@_ValueType': tokenTypes.provisionDoc,
            '@_EncodingType': tokenTypes.base64,
            '#text': Buffer.from(provisioningDoc, 'utf8').toString('base64'),
          },
        },
        RequestID: { '@_xmlns': ns.pki, '#text': '0' },
      },
    },
  });
}

/** A SOAP fault with the MS-MDE2 subcode (MessageFormat, Authentication, Authorization, CertificateRequest …). */
export function soapFault(err: WindowsProtocolError, relatesTo: string | undefined): string {
  return envelope(actions.fault, relatesTo, {
    's:Fault': {
      's:Code': { 's:Value': 's:Receiver', 's:Subcode': { 's:Value': { '@_xmlns:e': ns.enrollment, '#text': `e:${err.faultSubcode}` } } },
      's:Reason': { 's:Text': { '@_xml:lang': 'en-US', '#text': err.message } },
    },
  });
}

/** The wap-provisioningdoc a device applies: where to manage it from, its credentials, its poll schedule and push app. */
export interface ProvisioningInput {
  providerId: string;
  managementUrl: string;
  deviceId: string;
  secret: string;
  /** WNS package family name provisioned to the DMClient push node, when WNS is configured. */
  pfn?: string;
}

export function provisioningDoc(p: ProvisioningInput): string {
  const parm = (name: string, value?: string) => ({ '@_name': name, ...(value !== undefined ? { '@_value': value } : {}) });
  return builder.build({
    'wap-provisioningdoc': {
      '@_version': '1.1',
      characteristic: [
        {
          '@_type': 'APPLICATION',
          parm: [
            parm('APPID', 'w7'),
            parm('PROVIDER-ID', p.providerId),
            parm('NAME', p.providerId),
            parm('ADDR', p.managementUrl),
            parm('CONNRETRYFREQ', '6'),
            parm('INITIALBACKOFFTIME', '30000'),
            parm('MAXBACKOFFTIME', '120000'),
            parm('DEFAULTENCODING', 'application/vnd.syncml.dm+xml'),
          ],
          characteristic: [
            {
              '@_type': 'APPAUTH',
              parm: [
                parm('AAUTHLEVEL', 'CLIENT'),
                parm('AAUTHTYPE', 'BASIC'),
                parm('AAUTHNAME', p.deviceId),
                parm('AAUTHSECRET', p.secret),
              ],
            },
          ],
        },
        {
          '@_type': 'DMClient',
          characteristic: {
            '@_type': 'Provider',
            characteristic: {
              '@_type': p.providerId,
              characteristic: [
                {
                  '@_type': 'Poll',
                  parm: [
                    parm('NumberOfFirstRetries', '8'),
                    parm('IntervalForFirstSetOfRetries', '15'),
                    parm('NumberOfSecondRetries', '5'),
                    parm('IntervalForSecondSetOfRetries', '3'),
                    parm('NumberOfRemainingScheduledRetries', '0'),
                    parm('IntervalForRemainingScheduledRetries', '1560'),
                    parm('PollOnLogin', 'true'),
                  ],
                },
                ...(p.pfn ? [{ '@_type': 'Push', parm: [parm('PFN', p.pfn)] }] : []),
              ],
            },
          },
        },
      ],
    },
  });
}
