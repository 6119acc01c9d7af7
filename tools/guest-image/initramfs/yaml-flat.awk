# Flattens the small subset of YAML that cloud-init seeds use into "path=value" lines.
# Supported: block mappings, block sequences (of scalars or of mappings, indented or not),
# flow sequences of scalars ([a, b]), single/double quoted scalars, comments.
# Block scalars (| and >) are skipped. Flow mappings ({...}) are not supported.
# Paths join keys and sequence indexes with dots: ethernets.eth0.addresses.0=192.0.2.10/32
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t\r]+$/, "", s); return s }
function unq(s) {
  s = trim(s)
  if (s ~ /^".*"$/ || s ~ /^'.*'$/) return substr(s, 2, length(s) - 2)
  sub(/[ \t]+#.*$/, "", s)
  return trim(s)
}
function emit(p, v) { print p "=" unq(v) }
function join(a, b) { return a == "" ? b : a "." b }
function flowseq(p, v,   n, i, parts) {
  v = trim(v); v = substr(v, 2, length(v) - 2)
  if (trim(v) == "") return
  n = split(v, parts, ",")
  for (i = 1; i <= n; i++) emit(p "." (i - 1), parts[i])
}
# handles "key: value" / "key:" found at column col under prefix pre
function keyline(pre, col, s,   k, v, p) {
  match(s, /^("[^"]*"|'[^']*'|[^:]+):([ \t]|$)/)
  if (RSTART == 0) return 0
  k = unq(substr(s, 1, RLENGTH - 1)); sub(/:[ \t]*$/, "", k); k = unq(k)
  v = trim(substr(s, RLENGTH + 1))
  p = join(pre, k)
  if (v ~ /^#/) v = ""
  if (v == "") { depth++; sind[depth] = col; spath[depth] = p; stype[depth] = "key"; return 1 }
  if (v ~ /^[|>][-+0-9]*$/) { skipind = col; return 1 }
  if (v ~ /^\[/) { flowseq(p, v); return 1 }
  emit(p, v); return 1
}
BEGIN { depth = 0; sind[0] = -1; spath[0] = ""; stype[0] = "root"; skipind = -1 }
{
  line = $0; sub(/\r$/, "", line)
  if (line ~ /^[ \t]*$/) next
  match(line, /^ */); n = RLENGTH
  if (skipind >= 0) { if (n > skipind) next; skipind = -1 }
  s = substr(line, n + 1)
  if (s ~ /^#/ || s ~ /^---/ || s ~ /^\.\.\./) next
  isseq = (s ~ /^-([ \t]|$)/)
  while (depth > 0 && (sind[depth] > n || (sind[depth] == n && !(isseq && stype[depth] == "key")))) depth--
  pre = spath[depth]
  if (isseq) {
    idx = cnt[pre]++ + 0
    ip = join(pre, idx)
    rest = trim(substr(s, 2))
    col = n + 1; while (substr(s, col - n + 0, 1) == " ") col++
    if (rest == "") { depth++; sind[depth] = n; spath[depth] = ip; stype[depth] = "item"; next }
    if (rest ~ /^("[^"]*"|'[^']*'|[^:"' ]+):([ \t]|$)/) {
      depth++; sind[depth] = n; spath[depth] = ip; stype[depth] = "item"
      # the item's keys live at the column of rest
      match(s, /^-[ \t]+/); kcol = n + RLENGTH
      keyline(ip, kcol, rest)
      next
    }
    if (rest ~ /^\[/) { flowseq(ip, rest); next }
    emit(ip, rest); next
  }
  keyline(pre, n, s)
}
