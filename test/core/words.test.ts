/** Sizes as people read them. */
import {describe, expect, it} from 'vitest'
import {byteSize} from '../../src/core/words.js'

describe('byteSize', () => {
  it('bytes below a KiB as they are, larger sizes in binary units with one decimal', () => {
    expect(byteSize(0)).toBe('0 B')
    expect(byteSize(1023)).toBe('1023 B')
    expect(byteSize(1024)).toBe('1.0 KiB')
    expect(byteSize(4_468_736)).toBe('4.3 MiB')
    expect(byteSize(5 * 1024 ** 3)).toBe('5.0 GiB')
    expect(byteSize(3 * 1024 ** 4)).toBe('3.0 TiB')
  })

  it('a size that rounds up to the next unit is written in it', () => {
    expect(byteSize(1024 * 1024 - 1)).toBe('1.0 MiB')
    expect(byteSize(1024 ** 3 - 1)).toBe('1.0 GiB')
  })
})
