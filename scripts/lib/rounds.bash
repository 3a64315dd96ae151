# Side-by-side rounds for the benchmark scripts (sourced). Each line of a rounds file is
# "case ours theirs" from one round, both rates (higher is better), the two sides run one after
# the other so that a change of load hits both alike. ratio_table FILE LABEL prints, per case in
# the order first seen, the median rate of each side, the median of the per-round ratios ours /
# theirs, and their range over the rounds.
ratio_table() {
  awk -v label="$2" '
    function sort(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } }
    function median(a, n) { sort(a, n); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    { if (!($1 in rounds)) order[++cases] = $1
      k = ++rounds[$1]; ours[$1, k] = $2; theirs[$1, k] = $3; ratio[$1, k] = $2 / $3 }
    END {
      printf "%-32s %12s %12s %8s  %s\n", label, "C++", "Python", "C++/Py", "range over rounds"
      for (i = 1; i <= cases; i++) {
        key = order[i]; m = rounds[key]
        for (k = 1; k <= m; k++) { o[k] = ours[key, k]; t[k] = theirs[key, k]; r[k] = ratio[key, k] }
        mo = median(o, m); mt = median(t, m); mr = median(r, m)
        printf "%-32s %12.1f %12.1f %8.2f  %.2f-%.2f (%d rounds)\n", key, mo, mt, mr, r[1], r[m], m
      }
    }' "$1"
}
