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
/**
 * Roles. The gold standard (like library catalogues) names a book's authors, and an edited
 * volume's editors, but not who wrote its foreword or preface, translated or illustrated it.
 * So editor markers ("(Editor)", "(EDT)", "Edited by", "Editor:") only separate names, while a
 * name marked with a contributor role is dropped: "Bloch, Joshua (Author) Steele, Guy L., Jr.
 * (Foreword by)", "Bloch, Joshua, foreword by Guy Steele", "Dustin, ..., Jakob Nielson (Foreword)".
 */
const CONTRIB = String.raw`foreword|preface|introduction|afterword|translator|translated|illustrator|illustrated|photographer|frw|trn|ilt|aft`
const SEP = /\s*(?:;|\/|~|&|\band\b|\|)\s*/i
/** Remove the last name of a run of text: the text before a "(Foreword by)" marker. */
function dropLastName(seg) {
  const cut = [...seg.matchAll(new RegExp(`${SEP.source}|\\)\\s*`, 'gi'))].pop()
  const head = cut ? seg.slice(0, cut.index + cut[0].length) : ''
  const last = cut ? seg.slice(cut.index + cut[0].length) : seg
  const parts = last.split(',').filter((p) => words(p).length > 0)
  // "First Last, First Last (Foreword)" keeps all but the last; "Last, First (Foreword by)" goes whole
  if (parts.length >= 2 && words(parts[0]).length >= 2) return `${head}${parts.slice(0, -1).join(',')}`
  return head
}
function dropContributors(s) {
  // Prefix forms: "foreword by X", "with an introduction by X", up to the next separator.
  s = s.replace(new RegExp(String.raw`(?<!\()(?:,\s*)?(?:with\s+(?:a|an)\s+)?(?:series\s+edited|${CONTRIB})\s+by\b[^;/]*`, 'gi'), ';')
  // Editor prefixes are separators: "Edited by X", "Editor: X", "Editor-X", "Scientific Editor-X"; a bare trailing "Editor(s)" goes.
  s = s.replace(/\b(?:scientific\s+)?(?:edited\s+by|editors?\s*[:-])\s*/gi, '; ').replace(/\s+editors?\.?\s*$/i, '')
  // Suffix forms: "X (Foreword by)", "X (TRN)": drop the name before the marker.
  const marker = new RegExp(String.raw`\((?:${CONTRIB})(?:\s+by)?\)?`, 'gi')
  let out = ''
  let from = 0
  for (const m of s.matchAll(marker)) {
    out += dropLastName(s.slice(from, m.index)) + ';'
    from = m.index + m[0].length
  }
  return out + s.slice(from)
}
/** An author field to a sorted list of distinct lowercased surnames; [] when it names nobody. */
export function surnames(raw) {
  let s = decode(raw)
  if (/not available|^\s*$/i.test(s)) return []
  s = dropContributors(s)
  s = s.replace(/by\s*\(author\)/gi, ';').replace(/\([^)]*\)/g, ';')
  s = s.replace(/\(.*?\)/g, ' ').replace(/\bby\b/gi, ' ').replace(/\bet al\.?/gi, ' ')
  // names glued together: "NickWoods"
  s = s.replace(/([A-Za-z]?[a-z]{2,})([A-Z][a-z])/g, (m, a, b) => (/^(ma?c)$/i.test(a) ? m : `${a}; ${b}`))
  const chunks = s.split(SEP).filter((c) => c.trim())
  const out = new Set()
  for (const chunk of chunks) {
    // "Steele, Guy L., Jr.": a suffix on its own between commas is no name
    const parts = chunk.split(',').map((p) => p.trim()).filter((p) => !/^(jr|sr|ii|iii|iv)\.?$/i.test(p))
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
