# ratios.awk - reads the harness's results.tsv and prints, per workload,
# the median req/s, p50, p99, proxy CPU per request and peak RSS of the
# bare ReverseProxy row (BARE) and of our balancer's row (OURS), then the
# ratios OURS / BARE: of the medians, and the median, range and count of
# rounds meeting the target of the per-round ratios (each round runs both
# rows back to back, so a round's ratio is less exposed to noise that
# drifts over the run).
#
#   awk -F'\t' -v BARE=go-tuned -v OURS=balancer -f median.awk -f ratios.awk results.tsv
#
# Runs whose check is not "ok" (socket errors, non-2xx answers, failed
# balancing checks) are left out and counted in the "bad" column.
# Portable awk (mawk): no asort. Needs median.awk (awk -f median.awk -f ratios.awk).

function ratio(x, ref) {
	if (x <= 0 || ref <= 0) return "n/a"
	return sprintf("%.2f", x / ref)
}

# num formats x / div, or "n/a" when x is missing (negative or zero).
function num(x, f, div) {
	if (x <= 0) return (x == 0 && f == "%.0f") ? "0" : "n/a"
	return sprintf(f, x / div)
}

function add(k, v) { vals[k] = (k in vals) ? vals[k] " " v : v }

NR == 1 {
	for (i = 1; i <= NF; i++) col[$i] = i
	next
}
{
	p = $col["proxy"]
	if (p != BARE && p != OURS) next
	w = $col["workload"]
	r = $col["round"]
	if (!(w in seenw)) { seenw[w] = 1; wl[++nw] = w }
	if ($col["check"] != "ok") { bad[p, w]++; next }
	runs[p, w]++
	add("rps" SUBSEP p SUBSEP w, $col["rps"])
	add("p50" SUBSEP p SUBSEP w, $col["p50_us"])
	add("p99" SUBSEP p SUBSEP w, $col["p99_us"])
	add("cpu" SUBSEP p SUBSEP w, $col["proxy_cpu_us_per_req"])
	add("other" SUBSEP p SUBSEP w, $col["other_cpu_pct"])
	if ($col["proxy_rss_kib"] + 0 > rss[p, w]) rss[p, w] = $col["proxy_rss_kib"] + 0
	rnd[p, w, r] = $col["rps"] " " $col["p99_us"] " " $col["proxy_cpu_us_per_req"]
	if (!(r in seenr)) { seenr[r] = 1; rounds[++nr] = r }
}
END {
	if (nw == 0) { print "no results for " BARE " or " OURS; exit 1 }
	printf "%-8s %-12s %4s %4s %10s %8s %8s %11s %8s %7s\n", "workload", "proxy", "runs", "bad", "req/s", "p50 ms", "p99 ms", "CPU us/req", "RSS MiB", "other%"
	for (i = 1; i <= nw; i++) {
		w = wl[i]
		for (j = 1; j <= 2; j++) {
			p = (j == 1) ? BARE : OURS
			n = runs[p, w] + 0
			for (m = 1; m <= 5; m++) {
				split("rps p50 p99 cpu other", names, " ")
				k = names[m] SUBSEP p SUBSEP w
				med[names[m], p, w] = (k in vals) ? median(vals[k]) : -1
			}
			printf "%-8s %-12s %4d %4d %10s %8s %8s %11s %8s %7s\n", w, p, n, bad[p, w] + 0, \
				num(med["rps", p, w], "%.0f", 1), num(med["p50", p, w], "%.2f", 1000), num(med["p99", p, w], "%.2f", 1000), \
				num(med["cpu", p, w], "%.1f", 1), num(rss[p, w], "%.1f", 1024), num(med["other", p, w], "%.0f", 1)
		}
		# Per-round ratios: rounds where both rows have an ok run.
		lo_r = lo_p = lo_c = 1e9; hi_r = hi_p = hi_c = -1; np = 0
		lr = lp = lc = ""; win_r = win_p = win_c = 0
		for (q = 1; q <= nr; q++) {
			r = rounds[q]
			if (!((BARE, w, r) in rnd) || !((OURS, w, r) in rnd)) continue
			split(rnd[BARE, w, r], b, " "); split(rnd[OURS, w, r], o, " ")
			if (b[1] <= 0 || b[2] <= 0 || b[3] <= 0) continue
			np++
			x = o[1] / b[1]; if (x < lo_r) lo_r = x; if (x > hi_r) hi_r = x; lr = lr " " x; if (x >= 1) win_r++
			x = o[2] / b[2]; if (x < lo_p) lo_p = x; if (x > hi_p) hi_p = x; lp = lp " " x; if (x <= 1) win_p++
			x = o[3] / b[3]; if (x < lo_c) lo_c = x; if (x > hi_c) hi_c = x; lc = lc " " x; if (x <= 1) win_c++
		}
		printf "%-8s %-12s %4s %4s %10s %8s %8s %11s\n", w, OURS "/" BARE, "", "", \
			ratio(med["rps", OURS, w], med["rps", BARE, w]), ratio(med["p50", OURS, w], med["p50", BARE, w]), \
			ratio(med["p99", OURS, w], med["p99", BARE, w]), ratio(med["cpu", OURS, w], med["cpu", BARE, w])
		if (np > 0) {
			# A round's ratio compares the two rows run back to back; the
			# median over rounds and the rounds at or past the target show
			# how far the medians' ratio stands out of the noise.
			printf "%-8s %-12s per-round ratios over %d round(s), median (min-max), rounds meeting the target:\n", w, "", np
			printf "%-8s %-12s   req/s %.2f (%.2f-%.2f) %d/%d; p99 %.2f (%.2f-%.2f) %d/%d; CPU/req %.2f (%.2f-%.2f) %d/%d\n", w, "", \
				median(lr), lo_r, hi_r, win_r, np, median(lp), lo_p, hi_p, win_p, np, median(lc), lo_c, hi_c, win_c, np
		}
		print ""
	}
	print "ratios: req/s higher is better (target >= 1.00); p99 and CPU us/req lower is better (target <= 1.00)."
	print "other% = CPU busy on the machine not charged to proxy, backend or wrk (other tenants), in % of one core: high values make a run suspect."
}
