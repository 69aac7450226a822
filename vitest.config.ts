import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.integration.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time even on two cores (vitest's default there is one): most of the suite
    // waits on child processes, servers and timers. Measured on this 2-core machine: the whole
    // suite in 506 s of wall time against 778 s with one, every test passing in both.
    maxWorkers: 2,
    // Tests that check what garbage collection does call gc() themselves.
    execArgv: ['--expose-gc'],
  },
})
