#!/usr/bin/env node
// The remote end of every SSH sync (`sync-serve --stdio --store <path>`, exactly) starts without
// oclif; see src/sync/stdio-main.ts. Everything else goes through oclif.
const argv = process.argv.slice(2)
const fast = argv[0] === 'sync-serve' && argv[1] === '--stdio' ? await import('../dist/sync/stdio-main.js') : undefined
const store = fast?.fastSyncServeArgs(argv)
if (store !== undefined) await fast.syncServeStdio(store)
else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
