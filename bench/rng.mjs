// Deterministic pseudo-random numbers for benchmark data, so every run generates the same data.
// mulberry32: 32-bit state updated with Math.imul, so it stays exact. (A multiply-mod LCG in
// plain doubles loses bits past 2^53 and falls into short cycles: 1M "random" subjects came out
// as ~10,700 distinct ones.)
export function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
