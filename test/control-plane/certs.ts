/**
 * Key material for a throwaway control plane: a certificate authority, a serving
 * certificate it signs for 127.0.0.1 and localhost, a service-account signing key pair and
 * random bearer tokens.
 *
 * Guarantees: every call makes fresh keys (ECDSA P-256) and certificates that Go's and
 * Node's TLS stacks both accept; nothing is read from or written to disk here.
 * Caveats: Node can make keys but not certificates, so the X.509 structures are encoded
 * by hand in DER (the handful of ASN.1 types a certificate needs, nothing more). These
 * certificates are for loopback test servers only.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface ServingCertificates {
  /** PEM of the CA certificate: what a client trusts. */
  caCertPem: string;
  /** PEM of the serving certificate (leaf only). */
  certPem: string;
  /** PEM (PKCS#8) of the serving certificate's private key. */
  keyPem: string;
}

export interface ServiceAccountKeys {
  /** PKCS#8 PEM, for --service-account-signing-key-file. */
  privateKeyPem: string;
  /** SPKI PEM, for --service-account-key-file. */
  publicKeyPem: string;
}

export interface ServingCertificateOptions {
  /** DNS names in the subjectAltName; defaults to localhost. */
  dnsNames?: readonly string[];
  /** IPv4 addresses in the subjectAltName; defaults to 127.0.0.1. */
  ipAddresses?: readonly string[];
  /** Start of validity; defaults to now. Certificates are back-dated by an hour for clock skew. */
  now?: Date;
  /** Validity in days; defaults to 3650 (a `control-plane up` may live for long). */
  validDays?: number;
}

export function newServingCertificates(options: ServingCertificateOptions = {}): ServingCertificates {
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + (options.validDays ?? 3650) * 24 * 60 * 60 * 1000);
  const dnsNames = options.dnsNames ?? ['localhost'];
  const ipAddresses = options.ipAddresses ?? ['127.0.0.1'];

  const ca = newEcKeyPair();
  const caName = distinguishedName('netfence test control plane CA');
  const caKeyId = keyIdentifier(ca.publicKey);
  const caCert = certificate({
    issuer: caName,
    subject: caName,
    subjectPublicKey: ca.publicKey,
    signer: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true))),
      extension(OID.keyUsage, true, keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, octetString(caKeyId)),
    ],
  });

  const leaf = newEcKeyPair();
  const leafCert = certificate({
    issuer: caName,
    subject: distinguishedName('kube-apiserver'),
    subjectPublicKey: leaf.publicKey,
    signer: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, keyUsage([KEY_USAGE.digitalSignature])),
      extension(OID.extKeyUsage, false, sequence(objectIdentifier(OID.serverAuth))),
      extension(OID.authorityKeyIdentifier, false, sequence(contextPrimitive(0, caKeyId))),
      extension(OID.subjectAltName, false, subjectAltName(dnsNames, ipAddresses)),
    ],
  });

  return {
    caCertPem: pem('CERTIFICATE', caCert),
    certPem: pem('CERTIFICATE', leafCert),
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function newServiceAccountKeys(): ServiceAccountKeys {
  const pair = newEcKeyPair();
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** A random bearer token: 32 bytes, base64url (no characters the token file's CSV needs quoted). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

// --- X.509 --------------------------------------------------------------------------------

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** Bit numbers of the KeyUsage BIT STRING (RFC 5280 4.2.1.3). */
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

interface CertificateFields {
  issuer: Buffer;
  subject: Buffer;
  subjectPublicKey: KeyObject;
  signer: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}

function certificate(fields: CertificateFields): Buffer {
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = sequence(
    contextConstructed(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    algorithm,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.subjectPublicKey.export({ type: 'spki', format: 'der' }),
    contextConstructed(3, sequence(...fields.extensions)),
  );
  const signature = sign('sha256', tbs, fields.signer); // DER-encoded ECDSA signature
  return sequence(tbs, algorithm, bitString(signature));
}

function newEcKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function distinguishedName(commonName: string): Buffer {
  return sequence(set(sequence(objectIdentifier(OID.commonName), utf8String(commonName))));
}

/** RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING's contents. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // For an EC key the SPKI ends with the uncompressed point (65 bytes for P-256).
  return createHash('sha1')
    .update(spki.subarray(spki.length - 65))
    .digest();
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? sequence(objectIdentifier(oid), boolean(true), octetString(value)) : sequence(objectIdentifier(oid), octetString(value));
}

function keyUsage(bits: readonly number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  const unused = 7 - (highest % 8);
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
}

function subjectAltName(dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer {
  const names = [...dnsNames.map((name) => contextPrimitive(2, Buffer.from(name, 'ascii'))), ...ipAddresses.map((ip) => contextPrimitive(7, ipv4Bytes(ip)))];
  return sequence(...names);
}

function ipv4Bytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return Buffer.from(parts);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

// --- DER ----------------------------------------------------------------------------------

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function sequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tlv(0x31, Buffer.concat(items));
}

function boolean(value: boolean): Buffer {
  return tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
}

/** An unsigned big-endian integer, given as bytes. */
function integer(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && ((bytes[start + 1] ?? 0) & 0x80) === 0) start++;
  const trimmed = bytes.subarray(start);
  const needsPad = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return tlv(0x02, needsPad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]));
}

function octetString(bytes: Buffer): Buffer {
  return tlv(0x04, bytes);
}

function utf8String(text: string): Buffer {
  return tlv(0x0c, Buffer.from(text, 'utf8'));
}

function objectIdentifier(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const groups: number[] = [];
    for (let value = arc; ; value = Math.floor(value / 128)) {
      groups.unshift(value & 0x7f);
      if (value < 128) break;
    }
    groups.forEach((group, i) => bytes.push(i < groups.length - 1 ? group | 0x80 : group));
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5). */
function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2025-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, ''); // 20250102030405
  const year = date.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

function contextPrimitive(tagNumber: number, content: Buffer): Buffer {
  return tlv(0x80 | tagNumber, content);
}

function contextConstructed(tagNumber: number, content: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, content);
}
