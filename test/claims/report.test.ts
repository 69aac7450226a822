import {describe, expect, it} from 'vitest'
import {renderExplain} from '../../src/claims/explain.js'
import {renderJunit, renderSarif, renderTable} from '../../src/claims/report.js'
import {verifyOp} from '../../src/ops/verify.js'
import {table} from '../../src/ui/table.js'
import {claim, makeRepo} from './helpers.js'

async function run() {
  const dir = makeRepo({
    '.nvmrc': '18\n',
    'package.json': '{\n  "name": "a & b"\n}\n',
    '.steme/claims.toml': claim('node', 'repo:node', 'version', 'expect = 20\ncompare = "gte"\nwhy = "node 20 <APIs>"') + claim('name', 'repo:package', 'name', 'expect = "a & b"') + claim('owner', 'repo:meta', 'owner', 'expect = "x"\nseverity = "warn"\nfrom = "files"'),
  })
  return verifyOp({}, {cwd: dir})
}

describe('reports', () => {
  it('SARIF 2.1.0 carries the fields its schema requires', async () => {
    const sarif = JSON.parse(renderSarif(await run(), '1.2.3'))
    expect(sarif.version).toBe('2.1.0')
    expect(sarif.$schema).toMatch(/sarif-2\.1\.0/)
    expect(sarif.runs).toHaveLength(1)
    const [runObj] = sarif.runs
    expect(runObj.tool.driver).toMatchObject({name: 'steme', version: '1.2.3'})
    expect(runObj.tool.driver.rules.map((r: {id: string}) => r.id)).toEqual(['node', 'name', 'owner'])
    expect(runObj.results).toHaveLength(2)
    for (const r of runObj.results) {
      expect(typeof r.message.text).toBe('string')
      expect(r.ruleId).toBe(runObj.tool.driver.rules[r.ruleIndex].id)
      expect(['error', 'warning', 'note', 'none']).toContain(r.level)
      expect(r.locations[0].physicalLocation.artifactLocation.uri).toBeTruthy()
      expect(r.locations[0].physicalLocation.region.startLine).toBeGreaterThanOrEqual(1)
    }
    expect(runObj.results[0]).toMatchObject({ruleId: 'node', level: 'error', locations: [{physicalLocation: {artifactLocation: {uri: '.nvmrc'}, region: {startLine: 1}}}]})
    // A MISSING claim points at its line in the claims file.
    expect(runObj.results[1]).toMatchObject({ruleId: 'owner', level: 'warning', locations: [{physicalLocation: {artifactLocation: {uri: '.steme/claims.toml'}, region: {startLine: 13}}}]})
  })

  it('JUnit XML has one test case per claim, failures only for failing claims, escaped text', async () => {
    const xml = renderJunit(await run())
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/)
    expect(xml).toContain('<testsuites name="steme verify" tests="3" failures="1" errors="0">')
    expect(xml.match(/<testcase /g)).toHaveLength(3)
    expect(xml.match(/<failure /g)).toHaveLength(1)
    expect(xml).toContain('<failure type="CONFLICT" message="repo:node version: expected &gt;= 20, observed &quot;18&quot; at .nvmrc:1">')
    expect(xml).toContain('node 20 &lt;APIs&gt;')
    expect(xml).not.toMatch(/<APIs>/)
  })

  it('the table says what failed, why, and where the claim is', async () => {
    const text = renderTable(await run(), {color: false, table})
    expect(text).toMatch(/^STATUS\s+SEVERITY\s+CLAIM/)
    expect(text).toContain('✗ node (error): repo:node version: expected >= 20, observed "18" at .nvmrc:1')
    expect(text).toContain('why: node 20 <APIs>')
    expect(text).toContain('claim: .steme/claims.toml:1')
    expect(text).toContain('FAILED: 1 claim fails')
  })

  it('explain renders a markdown page grouped by subject', async () => {
    const md = renderExplain(await run(), new Map())
    expect(md).toMatch(/^# What must stay true/)
    expect(md.indexOf('## repo:meta')).toBeLessThan(md.indexOf('## repo:node'))
    expect(md).toContain('- **Why:** node 20 <APIs>')
    expect(md).toContain('- **Status:** **CONFLICT**: "18" at .nvmrc:1')
  })
})
