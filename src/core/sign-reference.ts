/** The portable reference Ed25519 (@noble/ed25519, pure JS) that tests cross-check the native path against. */
import * as noble from '@noble/ed25519'
import {sha512} from '@noble/hashes/sha2.js'

noble.hashes.sha512 = sha512

/** The portable reference (pure JS), with ZIP-215 off so it agrees with OpenSSL on validity. */
export function verifyReference(agentHex: string, message: Uint8Array, sig: Uint8Array): boolean {
  try {
    return noble.verify(sig, message, Buffer.from(agentHex, 'hex'), {zip215: false})
  } catch {
    return false
  }
}

export function signReference(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return noble.sign(message, seed)
}
