/**
 * The harness's own pure-ish parts, which need no control plane: the certificates it serves
 * with and the lock that keeps two builds apart. These run even where the suites that need a
 * control plane skip.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newServiceAccountKeys, newServingCertificates, newToken } from '../control-plane/certs.js';
import { withLock } from '../control-plane/lock.js';

describe('the control plane’s certificates', () => {
  const certs = newServingCertificates({ now: new Date('2026-01-01T00:00:00Z'), validDays: 30 });
  const ca = new X509Certificate(certs.caCertPem);
  const leaf = new X509Certificate(certs.certPem);

  test('the CA is a self-signed certificate authority', () => {
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
  });

  test('the serving certificate is signed by the CA, for 127.0.0.1 and localhost, for TLS servers only', () => {
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkHost('example.com')).toBeUndefined();
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
  });

  test('the serving key belongs to the serving certificate', () => {
    expect(createPublicKey(certs.keyPem).export({ type: 'spki', format: 'pem' })).toBe(leaf.publicKey.export({ type: 'spki', format: 'pem' }));
  });

  test('validity starts an hour early and lasts the days asked for', () => {
    expect(new Date(leaf.validFrom).toISOString()).toBe('2025-12-31T23:00:00.000Z');
    expect(new Date(leaf.validTo).toISOString()).toBe('2026-01-31T00:00:00.000Z');
  });

  test('every call makes new keys and tokens', () => {
    expect(newServingCertificates().keyPem).not.toBe(certs.keyPem);
    expect(newServiceAccountKeys().privateKeyPem).not.toBe(newServiceAccountKeys().privateKeyPem);
    expect(newToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('the build lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'netfence-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('lets one holder in at a time and removes the lock file afterwards', async () => {
    const lock = join(dir, 'build.lock');
    const order: string[] = [];
    const hold = (name: string) =>
      withLock(
        lock,
        async () => {
          order.push(`${name} in`);
          await new Promise((r) => setTimeout(r, 30));
          order.push(`${name} out`);
        },
        { pollMs: 5 },
      );
    await Promise.all([hold('a'), hold('b')]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
    expect(existsSync(lock)).toBe(false);
  });

  test('takes over a lock whose owner died', async () => {
    const lock = join(dir, 'build.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(lock, `${dead.stdout}\n`);
    const waited: (number | undefined)[] = [];
    await expect(withLock(lock, async () => 'mine', { pollMs: 5, onWait: (pid) => waited.push(pid) })).resolves.toBe('mine');
    expect(waited).toEqual([]);
  });

  test('waits, and says so, while a live owner holds it', async () => {
    const lock = join(dir, 'build.lock');
    writeFileSync(lock, `${process.ppid}\n`); // alive for the whole test
    const waited: (number | undefined)[] = [];
    const attempt = withLock(lock, async () => 'mine', { pollMs: 5, onWait: (pid) => waited.push(pid) });
    await new Promise((r) => setTimeout(r, 50));
    expect(waited).toEqual([process.ppid]);
    rmSync(lock);
    await expect(attempt).resolves.toBe('mine');
  });
});
