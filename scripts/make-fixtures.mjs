#!/usr/bin/env node
// Regenerates fixtures/demo/records.ndjson: signed records from three deterministic test agents
// (seeds filled with 1, 2, 3), fixed clocks, so the output is byte-for-byte reproducible.
import {writeFileSync} from 'node:fs'
import {keyPairFromSeed} from '../dist/core/sign.js'
import {seal, recordLine} from '../dist/core/seal.js'
import {formatHlc} from '../dist/core/hlc.js'

const [fda, lab, blog] = [1, 2, 3].map((n) => keyPairFromSeed(new Uint8Array(32).fill(n)))
let t = Date.parse('2025-03-01T09:00:00Z')
const out = []
const add = (key, body) => {
  const {record, canonical} = seal({v: 1, agent: key.publicHex, hlc: formatHlc({wall: (t += 3_600_000), counter: 0}), ...body}, key)
  out.push(recordLine(canonical, record.id, record.sig))
  return record.id
}
const a = (key, subject, predicate, value, confidence, source, extra = {}) => add(key, {kind: 'assertion', subject, predicate, value, confidence, source, ...extra})

const label = a(fda, 'drug:aspirin', 'bleeding_rate', 0.002, 0.9, 'fda:label-2024')
a(lab, 'drug:aspirin', 'bleeding_rate', 0.0025, 0.8, 'doi:10.1000/trial-17')
const rumour = a(blog, 'drug:aspirin', 'bleeding_rate', 0.02, 0.3, 'url:https://example.org/health-blog')
a(fda, 'drug:aspirin', 'max_daily_dose_mg', 4000, 0.95, 'fda:label-2024')
a(lab, 'drug:aspirin', 'max_daily_dose_mg', 4000, 0.7, 'doi:10.1000/review-3')
a(fda, 'drug:ibuprofen', 'bleeding_rate', 0.001, 0.85, 'fda:label-2024')
a(lab, 'drug:ibuprofen', 'bleeding_rate', 0.0012, 0.8, 'doi:10.1000/trial-17')
a(lab, 'drug:aspirin', 'interacts_with', ['warfarin', 'ibuprofen'], 0.9, 'doi:10.1000/review-3', {evidence: [label]})
a(blog, 'service:api', 'tls_min_version', '1.2', 0.6, 'url:https://example.org/ops-wiki', {valid: {to: '2025-06-30'}})
a(fda, 'service:api', 'tls_min_version', '1.3', 0.9, 'ticket:SEC-42', {valid: {from: '2025-07-01'}})
add(fda, {kind: 'vote', target: rumour, weight: -1})
add(lab, {kind: 'vote', target: rumour, weight: -1})
add(fda, {kind: 'epoch', name: 'post-2024-guideline', starts: '2024-06-01', note: 'new labelling rules'})
add(fda, {kind: 'trust', target: lab.publicHex, weight: 0.8})
add(lab, {kind: 'trust', target: blog.publicHex, weight: 0.2})
writeFileSync(new URL('../fixtures/demo/records.ndjson', import.meta.url), out.join('\n') + '\n')
console.log(`wrote ${out.length} records`)
