/** fast-check wired into vitest (property tests). */
import fc from 'fast-check'
import {it} from 'vitest'

export {fc}
export const test = {
  prop:
    <T extends unknown[]>(arbs: {[K in keyof T]: fc.Arbitrary<T[K]>}, params: fc.Parameters<T> = {}) =>
    (name: string, body: (...args: T) => void | Promise<void>) =>
      it(name, async () => {
        await fc.assert(fc.asyncProperty(...(arbs as unknown as [fc.Arbitrary<unknown>]), (async (...args: unknown[]) => body(...(args as T))) as never), {numRuns: 100, ...params} as never)
      }),
}
