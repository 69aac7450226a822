#!/usr/bin/env node
// The remote end of every SSH sync (`sync-serve --stdio --store <path>`, exactly) starts without
// oclif; see src/sync/stdio-main.ts. Everything else goes through oclif.
import {homedir, userInfo} from 'node:os'
// A user with no entry in the password database (a container run with --user 1001): without HOME,
// os.homedir() throws, and without SHELL, os.userInfo() does; oclif calls both while it loads, so
// every command, --version too, would crash. Empty values make them answer '' instead; steme itself
// then says what it needs a home for.
try {
  homedir()
} catch {
  process.env.HOME = ''
}
if (process.env.SHELL === undefined) {
  try {
    userInfo()
  } catch {
    process.env.SHELL = ''
  }
}
const argv = process.argv.slice(2)
const fast = argv[0] === 'sync-serve' && argv[1] === '--stdio' ? await import('../dist/sync/stdio-main.js') : undefined
const store = fast?.fastSyncServeArgs(argv)
if (store !== undefined) await fast.syncServeStdio({store})
else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
