# paired.awk - reads paired.sh's table and prints, per workload, the median,
# the range and the count at or below 1.00 of the runs' CPU-per-request
# ratios (ours / bare, column 8). Needs median.awk:
#
#   awk -f median.awk -f paired.awk paired.txt

$8 ~ /^[0-9.]+$/ {
	r[$1] = r[$1] " " $8
	n[$1]++
	if ($8 <= 1) ok[$1]++
	if (!($1 in lo) || $8 < lo[$1]) lo[$1] = $8
	if (!($1 in hi) || $8 > hi[$1]) hi[$1] = $8
	if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
}
END {
	print ""
	print "== proxy CPU per request, ours / bare, both under load at once (target <= 1.00)"
	for (i = 1; i <= k; i++) {
		w = order[i]
		printf "%-6s median %.3f (%.3f-%.3f over %d runs), %d/%d at or below 1.00\n", w, median(r[w]), lo[w], hi[w], n[w], ok[w] + 0, n[w]
	}
}
