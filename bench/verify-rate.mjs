// Measures the machine's native Ed25519 verify rate on all cores (worker threads over node:crypto).
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
  const counts = await Promise.all(
    Array.from({length: threads}, () => {
      const w = new Worker(new URL(import.meta.url), {workerData: {items, seconds}})
      return new Promise((resolve, reject) => {
        w.once('message', resolve)
        w.once('error', reject)
      })
    }),
  )
  const total = counts.reduce((a, b) => a + b, 0)
  process.stdout.write(JSON.stringify({threads, perSecond: total / seconds}) + '\n')
} else {
  const {createPublicKey, verify} = await import('node:crypto')
  const {items, seconds} = workerData
  // Keys cached as KeyObjects, as steme does.
  const cache = new Map()
  const key = (der) => {
    const h = Buffer.from(der).toString('hex')
    let k = cache.get(h)
    if (!k) cache.set(h, (k = createPublicKey({key: Buffer.from(der), format: 'der', type: 'spki'})))
    return k
  }
  let n = 0
  const end = performance.now() + seconds * 1000
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) {
      const it = items[(n + i) % items.length]
      if (!verify(null, it.msg, key(it.pub), it.sig)) throw new Error('verify failed')
    }
    n += 200
  }
  parentPort.postMessage(n)
}
