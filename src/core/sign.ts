/**
 * Ed25519 (strict RFC 8032), native: node:crypto's OpenSSL by default, libsodium on the hot paths
 * that turn it on (ingest and sync workers, fsck).
 */
import type {KeyObject} from 'node:crypto'
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
/**
 * node:crypto, on first use: importing it as an ES module builds a facade over its hundred-odd
 * exports (3-6 ms at start-up), and commands that only read (query, log, show) never sign or verify.
 */
let nodeCrypto: typeof import('node:crypto') | undefined
const crypto = (): typeof import('node:crypto') => (nodeCrypto ??= require('node:crypto') as typeof import('node:crypto'))

// DER prefixes that wrap raw Ed25519 keys as SPKI (public) and PKCS#8 (private) structures.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** The part of sodium-native used here (its buffers are written in place). */
interface Sodium {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
  crypto_sign_detached(sig: Uint8Array, message: Uint8Array, sk: Uint8Array): void
  crypto_sign_verify_detached(sig: Uint8Array, message: Uint8Array, pk: Uint8Array): boolean
}

let sodium: Sodium | undefined

export type CryptoBackend = 'openssl' | 'libsodium'

/**
 * Sign and verify with libsodium from now on, in this thread. Measured on this project's 2-core
 * machine, one core: signing 48-64k/s against OpenSSL's 26-35k/s, verifying 17-23k/s against
 * 10-14k/s. Loading it costs ~30 ms, which is why one-record commands (assert, query) keep
 * OpenSSL. Signatures are byte-identical (Ed25519 is deterministic) and validity is OpenSSL's
 * (see verify), so the choice never changes an answer. STEME_CRYPTO=openssl turns it off.
 * Returns the backend in use.
 */
export function useLibsodium(): CryptoBackend {
  if (sodium || process.env.STEME_CRYPTO === 'openssl') return cryptoBackend()
  try {
    sodium = require('sodium-native') as Sodium
  } catch {
    // No prebuilt binary for this platform: OpenSSL does the same job, only slower.
  }
  return cryptoBackend()
}

/** Back to OpenSSL only (tests compare the two). */
export function useOpenssl(): void {
  sodium = undefined
}

export const cryptoBackend = (): CryptoBackend => (sodium ? 'libsodium' : 'openssl')

// Rebuilding a KeyObject from DER costs ~40% of a verify; agents are few, so keys are cached
// per agent (KeyObjects for OpenSSL, raw bytes for libsodium), each cache bounded.
const MAX_CACHED = 10_000
const publicKeys = new Map<string, KeyObject>()
const rawKeys = new Map<string, Buffer>()

function cached<T>(cache: Map<string, T>, agentHex: string, make: (hex: string) => T): T {
  let key = cache.get(agentHex)
  if (key === undefined) {
    key = make(agentHex)
    if (cache.size >= MAX_CACHED) cache.clear()
    cache.set(agentHex, key)
  }
  return key
}

const rawPublicKey = (agentHex: string): Buffer => cached(rawKeys, agentHex, (hex) => Buffer.from(hex, 'hex'))

const publicKeyObject = (agentHex: string): KeyObject =>
  cached(publicKeys, agentHex, (hex) => crypto().createPublicKey({key: Buffer.concat([SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki'}))

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
  const priv = crypto().createPrivateKey({key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8'})
  const spki = crypto().createPublicKey(priv).export({format: 'der', type: 'spki'})
  const publicHex = spki.subarray(SPKI_PREFIX.length).toString('hex')
  const copy = Uint8Array.from(seed)
  // libsodium's secret key (seed and public key), made when it first signs.
  let sk: Buffer | undefined
  const sodiumKey = (s: Sodium): Buffer => {
    if (sk) return sk
    const pk = Buffer.alloc(32)
    const k = Buffer.alloc(64)
    s.crypto_sign_seed_keypair(pk, k, copy)
    if (pk.toString('hex') !== publicHex) throw new Error('libsodium and OpenSSL derive different public keys from one seed')
    return (sk = k)
  }
  return {
    publicHex,
    sign: (message) => {
      if (!sodium) return new Uint8Array(crypto().sign(null, message, priv))
      const sig = new Uint8Array(64)
      sodium.crypto_sign_detached(sig, message, sodiumKey(sodium))
      return sig
    },
    seed: () => Uint8Array.from(copy),
  }
}

export function generateKeyPair(): KeyPair {
  const {privateKey} = crypto().generateKeyPairSync('ed25519')
  const der = privateKey.export({format: 'der', type: 'pkcs8'})
  return keyPairFromSeed(new Uint8Array(der.subarray(PKCS8_PREFIX.length)))
}

/**
 * Verify by OpenSSL's rules (strict RFC 8032: canonical S, canonical point encodings).
 * libsodium, when on, answers first: what it accepts, OpenSSL accepts too (it checks the same
 * equation on canonical encodings). It also refuses small-order keys and R points, which
 * OpenSSL accepts, so every refusal goes to OpenSSL for the final word: peers agree on validity
 * whichever backend they run, and a bad signature costs two verifies.
 */
export function verify(agentHex: string, message: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false
  if (sodium && agentHex.length === 64) {
    const pk = rawPublicKey(agentHex)
    if (pk.length === 32 && sodium.crypto_sign_verify_detached(sig, message, pk)) return true
  }
  try {
    return crypto().verify(null, message, publicKeyObject(agentHex), sig)
  } catch {
    return false // not a valid curve point, for instance
  }
}
