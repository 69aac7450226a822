/** oclif's init hook, run before any command, --help or --version: a failed write to stdout is said as an error, not thrown as a crash. */
import type {Hook} from '@oclif/core'
import {watchStdout} from './stdout.js'

const hook: Hook.Init = async function () {
  watchStdout()
}

export default hook
