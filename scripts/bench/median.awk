# median.awk - median(list): the median of the numbers in a space-separated
# list, -1 for an empty one. Portable awk (mawk has no asort): an insertion
# sort. Used by ratios.awk and paired.awk (awk -f median.awk -f ...).

function median(list,    n, a, i, j, t) {
	n = split(list, a, " ")
	if (n == 0) return -1
	for (i = 2; i <= n; i++) {
		t = a[i] + 0
		for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
		a[j + 1] = t
	}
	if (n % 2) return a[(n + 1) / 2] + 0
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
