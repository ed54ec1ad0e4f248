import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scramSha256Verifier } from '../../../functions/engine/load/logins.js';

/** RFC 7677 section 3: the SCRAM-SHA-256 exchange for user "user", password "pencil". */
const RFC = {
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('scramSha256Verifier', () => {
  it('stores the keys with which the RFC 7677 exchange verifies (StoredKey and ServerKey)', () => {
    const verifier = scramSha256Verifier('pencil', RFC.salt, 4096);
    const match = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(verifier);
    expect(match?.[1]).toBe('W22ZaJ0SNY7soEsUEjb6gQ==');
    const storedKey = Buffer.from(match![2]!, 'base64');
    const serverKey = Buffer.from(match![3]!, 'base64');

    // The server's signature the RFC shows is HMAC(ServerKey, AuthMessage).
    expect(createHmac('sha256', serverKey).update(RFC.authMessage).digest('base64')).toBe(
      RFC.serverSignature,
    );
    // The server checks a client proof as H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey.
    const signature = createHmac('sha256', storedKey).update(RFC.authMessage).digest();
    const proof = Buffer.from(RFC.clientProof, 'base64');
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });

  it('never contains the password, and salts every verifier anew', () => {
    const password = 'Tr0ub4dor-and-3-horses';
    const a = scramSha256Verifier(password);
    expect(a).not.toContain(password);
    expect(a).not.toBe(scramSha256Verifier(password));
  });
});
