# serve_requests.awk: turn a raw-log folder's cohort users into /recommend
# request bodies (one JSON object per line): registration-day events and
# demographics, exactly what a client would send on registration day.
# Usage: awk -F'\t' -v from=DAY [-v max=N] -f serve_requests.awk users.tsv events.tsv
# (max: only the first N cohort users of users.tsv)
FNR == 1 { file++; next }
file == 1 {
  if ($2 + 0 >= from + 0 && (max == "" || n < max + 0)) {
    reg[$1] = $2
    age[$1] = ($3 == "" ? "null" : $3)
    country[$1] = ($4 == "" ? "null" : "\"" $4 "\"")
    order[n++] = $1
  }
  next
}
file == 2 && ($1 in reg) && $2 == reg[$1] {
  ev[$1] = ev[$1] (ev[$1] == "" ? "" : ", ") \
    "{\"action\": \"" $3 "\", \"kind\": \"" $4 "\", \"item_id\": " $5 "}"
}
END {
  for (i = 0; i < n; i++) {
    u = order[i]
    printf "{\"user_id\": %s, \"age\": %s, \"country\": %s, \"events\": [%s]}\n", \
      u, age[u], country[u], ev[u]
  }
}
