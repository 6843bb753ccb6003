#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by atf-sh
#
# The smoke test of the benchmark harness: bench/run with one short
# figure per system (a one-second single-stream iperf3 and a few pings
# over the raw path, marconid tap and tun, OpenVPN, tinc and
# wireguard-go, and one short marconid failover), checking that each
# printed a plausible figure: the system came up and traffic crossed
# it.  No speed is asserted: on a busy machine that would flake.  The
# checker itself is tested on made-up results, good and bad.

smoke_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# shellcheck source=../e2e/topology.sh
	. "$TOP/regress/e2e/topology.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mbs$$
		echo "$P" > prefix
	fi
}

atf_test_case smoke cleanup
smoke_head() {
	atf_set descr "bench/run measures every system once, briefly, and" \
	    "each figure is plausible: traffic crossed every tunnel"
	atf_set require.user root
	atf_set timeout 220
	atf_set require.progs "ip nft openssl ping iperf3 jq awk timeout" \
	    "openvpn tincd wireguard-go wg"
}
smoke_body() {
	smoke_init
	[ -x "$TOP/bench/probe" ] || atf_fail "bench/probe is not built"
	systems="raw marconid-tap marconid-tun openvpn tinc wireguard-go"
	# its work directory in ours, which kyua removes whatever happens
	if ! env TMPDIR="$PWD" BENCH_RUNS=1 BENCH_TIME=1 BENCH_STREAMS=1 \
	    BENCH_DIRS=ab BENCH_PINGS=20 BENCH_IDLE=1 BENCH_CUT_WAIT=10 \
	    BENCH_BACK_WAIT=2 BENCH_SYSTEMS="$systems" \
	    BENCH_FIGURES="tcp rtt failover" BENCH_FAILOVER=marconid-tap \
	    BENCH_CHECK=1 BENCH_OUT="$PWD/out" BENCH_PREFIX="$P" \
	    sh "$TOP/bench/run" > run.out 2> run.err; then
		cat run.out run.err >&2
		# why a system did not come up, first: the rest is long
		why=$(grep -h -A 4 -e 'did not come up' -e 'no traffic' \
		    -e 'site B:' run.err | head -n 24 | tr '\n' ' ')
		atf_fail "bench/run failed: $why $(grep '^bench' run.err \
		    run.out | tail -n 3 | tr '\n' ' ')"
	fi
	atf_check -o match:"all plausible" cat run.out
	for f in raw.txt machine.txt report.md; do
		[ -s "out/$f" ] || atf_fail "bench/run wrote no $f"
	done
	# a line in the throughput and the rtt tables for each system
	for s in $systems; do
		atf_check -o match:"^\| 1 stream A to B \| $s \| [0-9]" \
		    cat out/report.md
		atf_check -o match:"^\| $s \| [0-9]" cat out/report.md
	done
	# the failover: longest run, lost, back, TCP survived
	n="[0-9.]+"
	atf_check -o match:"^\| marconid-tap \| $n \| $n \| $n \| 1/1 \|" \
	    cat out/report.md
	atf_check -o match:"^inner MTU of every tunnel: 1400" \
	    cat out/machine.txt
}
smoke_cleanup() {
	smoke_init
	# bench/run cleans up on exit; this is for when it was killed
	n=1
	while [ "$n" -le 12 ]; do
		topo_destroy "${P}x$n" >/dev/null 2>&1
		n=$((n + 1))
	done
	rm -f "/var/run/wireguard/${P}a.sock" "/var/run/wireguard/${P}b.sock"
}

atf_test_case check_rejects
check_rejects_head() {
	atf_set descr "The harness's checker passes plausible results and" \
	    "rejects a system that did not come up, no throughput, no" \
	    "ping, a probe stream that never came back, and no results"
	atf_set require.progs "awk"
}
check_rejects_body() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	CHECK=$SRCDIR/../../bench/check.awk
	cat > good <<'EOT'
1 raw up 1
1 raw tcp1_ab 15000.2
1 raw rtt_n 20
1 raw rtt_med 0.04
1 raw rtt_p99 0.07
1 marconid-tap up 1
1 marconid-tap tcp1_ab 900.1
1 marconid-tap cpu1_ab 9.5
1 marconid-tap fo_sent 9000
1 marconid-tap fo_received 8700
1 marconid-tap fo_back_ms 262.1
1 marconid-tap fo_tcp_alive 1
EOT
	atf_check -o match:"12 figures, all plausible" awk -f "$CHECK" good
	for bad in "1 tinc up 0" "1 openvpn tcp1_ab 0" "1 tinc tcp4_ba 0.0" \
	    "1 tinc rtt_n 0" "1 openvpn fo_back_ms -1" \
	    "1 openvpn fo_received 0" "1 tinc fo_tcp_alive 0" \
	    "1 raw tcp1_ab"; do
		{ cat good; echo "$bad"; } > bad
		atf_check -s exit:1 -o match:"bench check: run 1" \
		    awk -f "$CHECK" bad
	done
	: > empty
	atf_check -s exit:1 -o match:"no results" awk -f "$CHECK" empty
}

atf_init_test_cases() {
	atf_add_test_case check_rejects
	atf_add_test_case smoke
}
