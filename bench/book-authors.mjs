/** Book dataset author field -> sorted distinct surnames: the value normalisation bench:truth uses for every lens alike. */
const ENT = {amp: '&', quot: '"', apos: "'", lt: '<', gt: '>', nbsp: ' '}
function decode(s) {
  return s.replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(+n)).replace(/&([a-z]+);/gi, (m, n) => {
    if (ENT[n.toLowerCase()]) return ENT[n.toLowerCase()]
    const base = /^([a-z])(acute|grave|uml|circ|tilde|cedil|ring|slash)$/i.exec(n)
    return base ? base[1] : ''
  })
}
const SUFFIX = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'phd', 'md', 'ph.d', 'dr', 'prof'])
const isInitial = (w) => /^[A-Za-z]\.?$/.test(w) || /^([A-Za-z]\.)+$/.test(w)
function clean(w) {
  return w.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z'\- ]/g, '').trim()
}
function words(s) { return s.trim().split(/\s+/).filter((w) => w && !SUFFIX.has(clean(w).replace(/\./g, ''))) }
function lastWord(s) { const w = words(s); return w.length ? w[w.length - 1] : '' }
/** An author field to a sorted list of distinct lowercased surnames; [] when it names nobody. */
export function surnames(raw) {
  let s = decode(raw)
  if (/not available|^\s*$/i.test(s)) return []
  s = s.replace(/by\s*\(author\)/gi, ';').replace(/\((author|editor|joint author|with|foreword|introduction|translator|illustrator|contributor|compiler|[^)]*)\)/gi, ';')
  s = s.replace(/\(.*?\)/g, ' ').replace(/\bby\b/gi, ' ').replace(/\bet al\.?/gi, ' ')
  // names glued together: "NickWoods"
  s = s.replace(/([A-Za-z]?[a-z]{2,})([A-Z][a-z])/g, (m, a, b) => (/^(ma?c)$/i.test(a) ? m : `${a}; ${b}`))
  const chunks = s.split(/\s*(?:;|\/|&|\band\b|\|)\s*/i).filter((c) => c.trim())
  const out = new Set()
  for (const chunk of chunks) {
    const parts = chunk.split(',').map((p) => p.trim()).filter(Boolean)
    if (parts.length === 0) continue
    if (parts.length === 1) { out.add(lastWord(parts[0])); continue }
    if (words(parts[0]).length >= 2 && !(chunks.length > 1 && parts.length === 2)) {
      // First Last, First Last
      for (const p of parts) out.add(lastWord(p))
      continue
    }
    // Last, First [Last, First ...], possibly with the next surname glued to the given names
    out.add(parts[0])
    let state = 'given'
    for (let i = 1; i < parts.length; i++) {
      const w = words(parts[i])
      if (state === 'surname') { out.add(parts[i]); state = 'given'; continue }
      if (i < parts.length - 1 && w.length >= 2 && !isInitial(w[w.length - 1])) out.add(w[w.length - 1])
      else if (i < parts.length - 1) state = 'surname'
    }
  }
  return [...new Set([...out].map(clean).map((x) => x.split(' ').pop()).filter((x) => x && x.length > 1))].sort()
}
