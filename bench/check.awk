# Fails (exit 1) unless every figure of a benchmark run is plausible:
# every system came up, and traffic crossed each tunnel in every test
# that was run.  It checks that the harness still measures something,
# not how fast: speed targets flake on a busy machine.  Input: raw.txt,
# one "RUN SYSTEM FIGURE VALUE" line per measurement.

function bad(why) {
	printf("bench check: run %s, %s: %s\n", $1, $2, why)
	failed = 1
}

NF != 4 {
	bad("malformed line: " $0)
	next
}

{
	n++
	x = $4 + 0
}

($3 == "up" || $3 == "dup_up" || $3 == "soak_up") && x != 1 {
	bad("did not come up")
}

$3 ~ /^tcp[0-9]+_(ab|ba)$/ && !(x > 0) {
	bad($3 ": no throughput")
}

$3 ~ /^cpu[0-9]+_(ab|ba)$/ && !(x > 0) {
	bad($3 ": no CPU time counted for the tunnel")
}

$3 == "rtt_n" && !(x > 0) {
	bad("no ping answered")
}

$3 ~ /^rtt_(med|p99)$/ && !(x > 0) {
	bad($3 " is " $4)
}

$3 ~ /_sent$/ && !(x > 0) {
	bad("the probe stream did not run")
}

$3 ~ /_received$/ && !(x > 0) {
	bad("no probe came back")
}

$3 ~ /_back_ms$/ && x < 0 {
	bad("traffic did not come back after the cut")
}

$3 ~ /_tcp_alive$/ && x != 1 {
	bad("the TCP stream did not survive the cut")
}

$3 ~ /^soak_(s|pipes|received_ab|received_ba)$/ && !(x > 0) {
	bad($3 " is " $4 ": the soak did not run")
}

$3 ~ /^(rss|private)_/ && !(x > 0) {
	bad($3 " is " $4)
}

END {
	if (n == 0) {
		print "bench check: no results"
		exit 1
	}
	if (failed)
		exit 1
	printf("bench check: %d figures, all plausible\n", n)
}
