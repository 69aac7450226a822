/** Which listening addresses count as this machine only: beyond them, serve and sync-serve --http warn. */
import {describe, expect, it} from 'vitest'
import {isLoopback} from '../../src/loopback.js'

describe('isLoopback', () => {
  it('is true for the loopback addresses and localhost only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(h), h).toBe(true)
    for (const h of ['0.0.0.0', '::', '192.168.1.5', '10.0.0.1', 'example.org', '127.0.0.1.example.org', '1270.0.0.1']) expect(isLoopback(h), h).toBe(false)
  })
})
