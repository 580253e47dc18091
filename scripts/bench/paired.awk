# paired.awk - reads paired.sh's table and prints, per workload, the median,
# the range and the count of runs meeting the target of two ratios, ours /
# bare: proxy CPU per request (column 8, target <= 1.00) and requests per
# second (columns 5 / 4, target >= 1.00; the two proxies share the CPU, so
# the cheaper one serves more), and, when the table has them (columns 11-14),
# p50 and p99 latency (target <= 1.00). Needs median.awk:
#
#   awk -f median.awk -f paired.awk paired.txt

# note adds ratio x of workload w to the statistic s.
function note(s, w, x, met) {
	vals[s, w] = vals[s, w] " " x
	n[s, w]++
	if (met) ok[s, w]++
	if (!((s, w) in lo) || x < lo[s, w]) lo[s, w] = x
	if (!((s, w) in hi) || x > hi[s, w]) hi[s, w] = x
}

function report(s, title, target,    i, w) {
	print ""
	print "== " title ", ours / bare, both under load at once (target " target ")"
	for (i = 1; i <= k; i++) {
		w = order[i]
		printf "%-6s median %.3f (%.3f-%.3f over %d runs), %d/%d meet the target\n", w, median(vals[s, w]), lo[s, w], hi[s, w], n[s, w], ok[s, w] + 0, n[s, w]
	}
}

$8 ~ /^[0-9.]+$/ && $4 > 0 {
	note("cpu", $1, $8 + 0, $8 <= 1)
	rps = sprintf("%.3f", $5 / $4)
	note("rps", $1, rps + 0, rps >= 1)
	if (NF >= 14 && $11 > 0 && $13 > 0) {
		lat = 1
		x = sprintf("%.3f", $12 / $11); note("p50", $1, x + 0, x <= 1)
		x = sprintf("%.3f", $14 / $13); note("p99", $1, x + 0, x <= 1)
	}
	if (!($1 in seen)) { seen[$1] = 1; order[++k] = $1 }
}
END {
	report("cpu", "proxy CPU per request", "<= 1.00")
	report("rps", "requests per second", ">= 1.00")
	if (lat) {
		report("p50", "p50 latency", "<= 1.00")
		report("p99", "p99 latency", "<= 1.00")
	}
}
