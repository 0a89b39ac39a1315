import { randomBytes } from 'node:crypto';
import { parseMasterKey } from '@hookflow/platform';
import { openSecret, sealSecret, SecretDecryptionError, type SealedSecret } from './secret-cipher';

describe('secret cipher (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it.each([
    ['ascii', 'sk_live_51H8abcDEF'],
    ['empty', ''],
    ['unicode', 'pässwörd 🔑 密码'],
    ['long', 'x'.repeat(64 * 1024)],
  ])('round-trips a %s value', (_, value) => {
    expect(openSecret(key, 'NAME', sealSecret(key, 'NAME', value))).toBe(value);
  });

  it('uses a fresh 12-byte IV per value and keeps a 16-byte tag, never the clear text', () => {
    const a = sealSecret(key, 'NAME', 'same value');
    const b = sealSecret(key, 'NAME', 'same value');
    expect(a.iv).toHaveLength(12);
    expect(a.authTag).toHaveLength(16);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(Buffer.concat([a.iv, a.ciphertext, a.authTag]).includes('same value')).toBe(false);
  });

  it('fails with another key', () => {
    const sealed = sealSecret(key, 'NAME', 'value');
    expect(() => openSecret(randomBytes(32), 'NAME', sealed)).toThrow(SecretDecryptionError);
    expect(() => openSecret(randomBytes(32), 'NAME', sealed)).toThrow(/HOOKFLOW_MASTER_KEY/);
  });

  it('fails under another name (the name is authenticated)', () => {
    const sealed = sealSecret(key, 'STRIPE', 'value');
    expect(() => openSecret(key, 'GITHUB', sealed)).toThrow(SecretDecryptionError);
  });

  const flip = (buf: Buffer, at = 0) => {
    const copy = Buffer.from(buf);
    copy[at] ^= 0x01;
    return copy;
  };
  it.each<[string, (s: SealedSecret) => SealedSecret]>([
    ['a ciphertext byte', (s) => ({ ...s, ciphertext: flip(s.ciphertext, 3) })],
    ['the auth tag', (s) => ({ ...s, authTag: flip(s.authTag) })],
    ['a truncated auth tag', (s) => ({ ...s, authTag: s.authTag.subarray(0, 12) })],
    ['the IV', (s) => ({ ...s, iv: flip(s.iv) })],
    ['a truncated ciphertext', (s) => ({ ...s, ciphertext: s.ciphertext.subarray(1) })],
  ])('fails when %s is changed', (_, tamper) => {
    const sealed = sealSecret(key, 'NAME', 'a value of some length');
    expect(() => openSecret(key, 'NAME', tamper(sealed))).toThrow(SecretDecryptionError);
  });

  it('never puts the value in its error', () => {
    const sealed = sealSecret(key, 'NAME', 'do-not-print-me');
    expect(() => openSecret(randomBytes(32), 'NAME', sealed)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('do-not-print-me') }),
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => sealSecret(randomBytes(16), 'NAME', 'v')).toThrow(/32 bytes/);
  });
});

describe('parseMasterKey', () => {
  const raw = randomBytes(32);

  it.each([
    ['hex', raw.toString('hex')],
    ['upper-case hex', raw.toString('hex').toUpperCase()],
    ['base64', raw.toString('base64')],
    ['base64 without padding', raw.toString('base64').replace(/=$/, '')],
    ['base64url', raw.toString('base64url')],
    ['base64 with spaces around', `  ${raw.toString('base64')}\n`],
  ])('reads %s', (_, text) => {
    expect(parseMasterKey(text)?.equals(raw)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['a passphrase', 'correct horse battery staple'],
    ['16 bytes of hex', randomBytes(16).toString('hex')],
    ['31 bytes of base64', randomBytes(31).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['64 characters that are not hex', 'g'.repeat(64)],
  ])('refuses %s', (_, text) => {
    expect(parseMasterKey(text)).toBeUndefined();
  });
});
