/** BLAKE3-256 content ids: a WASM hasher on the hot path, @noble/hashes as the portable fallback. */
import type {blake3 as NobleBlake3} from '@noble/hashes/blake3.js'
import type {IHasher} from 'hash-wasm'
import {createRequire} from 'node:module'

const require = createRequire(import.meta.url)
let wasm: IHasher | undefined
const enc = new TextEncoder()

/**
 * @noble/hashes' BLAKE3, loaded on first use: it takes ~13 ms to load, and most commands (every
 * one that only reads, like `steme query`) import this module for its hex helpers and never hash.
 */
let noble: typeof NobleBlake3 | undefined
const nobleBlake3 = (data: Uint8Array): Uint8Array => (noble ??= (require('@noble/hashes/blake3.js') as {blake3: typeof NobleBlake3}).blake3)(data)

/**
 * Load the WASM hasher (about 10x faster than pure JS on short records, measured in
 * bench/). Call once at start-up; until it resolves, ids are computed with noble.
 */
export async function initHash(): Promise<void> {
  if (wasm) return
  // Only the BLAKE3 build: the package's index carries every algorithm's WASM (start-up cost).
  const {createBLAKE3} = require('hash-wasm/dist/blake3.umd.min.js') as typeof import('hash-wasm')
  wasm = await createBLAKE3(256)
}

/**
 * BLAKE3-256 of bytes or UTF-8 text, as 32 raw bytes. Text goes to the WASM hasher as bytes
 * encoded by Buffer: hash-wasm's own encoder took 1.5-1.8 µs for a 225-char record, Buffer.from
 * and the hash of the bytes ~1.0.
 */
export function blake3(data: Uint8Array | string): Uint8Array {
  if (wasm) return wasm.init().update(typeof data === 'string' ? Buffer.from(data) : data).digest('binary')
  return nobleBlake3(typeof data === 'string' ? enc.encode(data) : data)
}

/** BLAKE3-256 as 64 lowercase hex chars. */
export function blake3Hex(data: Uint8Array | string): string {
  if (wasm) return wasm.init().update(data).digest('hex')
  return toHex(nobleBlake3(typeof data === 'string' ? enc.encode(data) : data))
}

/** The reference implementation, for cross-checks in tests. */
export function blake3Reference(data: Uint8Array): Uint8Array {
  return nobleBlake3(data)
}

/** Lowercase hex (Node's native encoder: a third of the time of a JS table loop on 64 bytes). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

const HEX_RE = /^[0-9a-f]*$/
export const isHex = (s: string, len: number): boolean => s.length === len && HEX_RE.test(s)
