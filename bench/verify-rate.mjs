// Measures the machine's native Ed25519 verify rate on all cores, in worker threads:
// `verify-rate.mjs [seconds] [openssl|libsodium]` (node:crypto's OpenSSL, or sodium-native).
import {Worker, isMainThread, parentPort, workerData} from 'node:worker_threads'
import {availableParallelism} from 'node:os'

if (isMainThread) {
  const {generateKeyPairSync, sign} = await import('node:crypto')
  const keys = Array.from({length: 50}, () => generateKeyPairSync('ed25519'))
  const items = Array.from({length: 4000}, (_, i) => {
    const k = keys[i % keys.length]
    const msg = Buffer.alloc(32, i & 0xff)
    return {pub: k.publicKey.export({format: 'der', type: 'spki'}), msg, sig: sign(null, msg, k.privateKey)}
  })
  const threads = availableParallelism()
  const seconds = Number(process.argv[2] ?? 3)
  const backend = process.argv[3] ?? 'openssl'
  const counts = await Promise.all(
    Array.from({length: threads}, () => {
      const w = new Worker(new URL(import.meta.url), {workerData: {items, seconds, backend}})
      return new Promise((resolve, reject) => {
        w.once('message', resolve)
        w.once('error', reject)
      })
    }),
  )
  const total = counts.reduce((a, b) => a + b, 0)
  process.stdout.write(JSON.stringify({threads, backend, perSecond: total / seconds}) + '\n')
} else {
  const {createPublicKey, verify: opensslVerify} = await import('node:crypto')
  const {items, seconds, backend} = workerData
  const sodium = backend === 'libsodium' ? (await import('sodium-native')).default : undefined
  // Keys cached (as KeyObjects for OpenSSL, raw 32 bytes for libsodium), as steme does.
  const cache = new Map()
  const key = (der) => {
    const h = Buffer.from(der).toString('hex')
    let k = cache.get(h)
    if (!k) cache.set(h, (k = sodium ? Buffer.from(der).subarray(12) : createPublicKey({key: Buffer.from(der), format: 'der', type: 'spki'})))
    return k
  }
  const verify = sodium ? (msg, pk, sig) => sodium.crypto_sign_verify_detached(sig, msg, pk) : (msg, key, sig) => opensslVerify(null, msg, key, sig)
  let n = 0
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) {
      const it = items[(n + i) % items.length]
      if (!verify(it.msg, key(it.pub), it.sig)) throw new Error('verify failed')
    }
    n += 200
  }
  parentPort.postMessage(n)
}
