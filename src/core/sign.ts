/** Ed25519 (strict RFC 8032) through node:crypto's OpenSSL: the hot path for signing and verifying. */
import {createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject} from 'node:crypto'

// DER prefixes that wrap raw Ed25519 keys as SPKI (public) and PKCS#8 (private) structures.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

// Rebuilding a KeyObject from DER costs ~40% of a verify; agents are few, so cache them.
const publicKeys = new Map<string, KeyObject>()
const MAX_CACHED = 10_000

function publicKeyObject(agentHex: string): KeyObject {
  let key = publicKeys.get(agentHex)
  if (!key) {
    key = createPublicKey({key: Buffer.concat([SPKI_PREFIX, Buffer.from(agentHex, 'hex')]), format: 'der', type: 'spki'})
    if (publicKeys.size >= MAX_CACHED) publicKeys.clear()
    publicKeys.set(agentHex, key)
  }
  return key
}

/** A signing key held in memory; the seed never leaves this object except to the key file. */
export interface KeyPair {
  /** 64 hex: the agent id. */
  publicHex: string
  sign(message: Uint8Array): Uint8Array
  /** 32-byte seed, for writing the key file only. */
  seed(): Uint8Array
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes')
  const priv = createPrivateKey({key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8'})
  const spki = createPublicKey(priv).export({format: 'der', type: 'spki'})
  const publicHex = spki.subarray(SPKI_PREFIX.length).toString('hex')
  const copy = Uint8Array.from(seed)
  return {
    publicHex,
    sign: (message) => new Uint8Array(nodeSign(null, message, priv)),
    seed: () => Uint8Array.from(copy),
  }
}

export function generateKeyPair(): KeyPair {
  const {privateKey} = generateKeyPairSync('ed25519')
  const der = privateKey.export({format: 'der', type: 'pkcs8'})
  return keyPairFromSeed(new Uint8Array(der.subarray(PKCS8_PREFIX.length)))
}

/** Verify with OpenSSL (strict RFC 8032: canonical S, canonical point encodings). */
export function verify(agentHex: string, message: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false
  try {
    return nodeVerify(null, message, publicKeyObject(agentHex), sig)
  } catch {
    return false // not a valid curve point, for instance
  }
}
