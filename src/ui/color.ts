/** Whether output may carry colour: only on a terminal, not with NO_COLOR set (no-color.org), and not on one that shows no escapes (TERM=dumb). */
export function colorOn(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!stream.isTTY && !env.NO_COLOR && env.TERM !== 'dumb'
}
