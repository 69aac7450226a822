/** oclif's init hook, run before any command, --help or --version: a failed write to stdout is said as an error, and one to stderr passed over, rather than either thrown as a crash. */
import type {Hook} from '@oclif/core'
import {tolerateStderr, watchStdout} from './stdout.js'

const hook: Hook.Init = async function () {
  watchStdout()
  tolerateStderr()
}

export default hook
