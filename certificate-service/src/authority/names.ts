import * as asn1js from 'asn1js';
import { pkijs, x509 } from '../crypto.js';

/** Subject attribute types §6 talks about, by OID (names differ between tools: ST vs S, emailAddress vs E). */
export const subjectAttributes = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
  emailAddress: '1.2.840.113549.1.9.1',
} as const;
export type SubjectAttribute = keyof typeof subjectAttributes;

/** The organisation part every CA certificate carries; C, ST and O are what CSRs must match (§6). */
export interface CaSubject {
  C: string;
  ST: string;
  L: string;
  O: string;
  OU: string;
}

/**
 * Defaults mirror the EnOS CA (§6: `C=CN, ST=Shanghai, L=Shanghai, O=EnOS, OU=EnOS CA`) so CSRs made
 * by the EnOS quickstart (`-subj /C=CN/ST=Shanghai/L=Shanghai/O=EnOS/OU=…/CN=<deviceKey>`) and by
 * enos-cert-tool (copies C/ST/O from the root) are accepted unchanged.
 */
export const defaultCaSubject: CaSubject = { C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'EnOS CA' };

export function caName(subject: CaSubject, commonName: string): x509.Name {
  return new x509.Name([
    { C: [subject.C] },
    { ST: [subject.ST] },
    { L: [subject.L] },
    { O: [subject.O] },
    { OU: [subject.OU] },
    { CN: [commonName] },
  ]);
}

export interface NameAttribute {
  oid: string;
  /** undefined when the value is not a directory string (an ANY value we refuse to interpret). */
  value: string | undefined;
}

/**
 * Every attribute of a Name, flattened across (possibly multi-valued) RDNs, in DER order. Read with
 * pkijs, whose structures are public (x509 keeps its ASN.1 behind a protected field).
 */
export function nameAttributes(name: pkijs.RelativeDistinguishedNames): NameAttribute[] {
  return name.typesAndValues.map((atv) => ({
    oid: atv.type,
    value: atv.value instanceof asn1js.BaseStringBlock ? atv.value.getValue() : undefined,
  }));
}

/** The value of an attribute (its first occurrence). */
export function attribute(name: pkijs.RelativeDistinguishedNames, attr: SubjectAttribute): string | undefined {
  return nameAttributes(name).find((a) => a.oid === subjectAttributes[attr])?.value;
}
