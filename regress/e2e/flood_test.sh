#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of unauthenticated traffic: site A and site B of the
# two-site topology (topology.sh), two uplinks each, in duplicate mode
# so that every frame crosses both pipes, and a third namespace, the
# attacker, hung off ISP 1 (attacker_create).  The attacker floods the
# UDP and the TCP port of site B's uplink isp1 with what flood.c makes:
# random bytes, truncated headers, headers that look right with a bad
# tag (the real session's receiver id and key id, read from datagrams
# captured at ISP 1), replays of those captured datagrams, garbage
# where a TLS ClientHello should be, and 500 connections held open
# without a byte.  Meanwhile pings and a checksummed TCP transfer
# (xfer.c) cross the segment from site A to site B.
#
# What must hold: no attacker byte reaches site B's tap (every flood
# payload carries a marker, and every frame the daemon writes to the tap
# must come from site A's tap), site B's processes stay up with the same
# PIDs, their memory stays bounded, the legitimate traffic flows, and
# the drop counters of site B's pipe over isp1 account for every
# datagram of the flood that reached the host.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every loop is bounded.

# ---------------------------------------------------------------------
# helpers

fl_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	FLOOD=$SRCDIR/flood
	XFER=$SRCDIR/xfer
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mfl$$
		echo "$P" > prefix
	fi
	PORT=7455
	# site B's uplink isp1, the target, and its address on the segment
	B_UPLINK=198.18.11.2
	A_UPLINK=198.18.1.2
	B_TAP=198.19.0.2
	# the flood: FLOOD_RATE datagrams a second for FLOOD_SECONDS, the
	# same ones for the same FLOOD_SEED
	FLOOD_RATE=${FLOOD_RATE:-10000}
	FLOOD_SECONDS=${FLOOD_SECONDS:-10}
	FLOOD_SEED=${FLOOD_SEED:-7455}
	HOLD_CONNS=${HOLD_CONNS:-500}
}

fl_head() {
	_timeout=${1:-180}
	[ $# -eq 0 ] || shift
	atf_set require.user root
	atf_set timeout "$_timeout"
	atf_set require.progs "ip nft openssl ping ps jq awk tcpdump grep $*"
}

fl_fail() {
	case "$*" in
	*"
"*)
		echo "--- $*" >&2
		;;
	esac
	for s in a b; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes" >&2
			ctl "$s" show pipes >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 30 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

state_of() {
	_st=$(jpipe "$1" "$2" .state)
	echo "${_st:-?}"
}

all_up() {
	for _s in a b; do
		for _u in isp1 isp2; do
			[ "$(state_of "$_s" "$_u")" = up ] || return 1
		done
	done
	return 0
}

states() {
	echo "site a isp1 $(state_of a isp1) isp2 $(state_of a isp2)," \
	    "site b isp1 $(state_of b isp1) isp2 $(state_of b isp2)"
}

# num SITE UPLINK FILTER: a counter, 0 when missing
num() {
	_n=$(jpipe "$1" "$2" "$3")
	echo "${_n:-0}"
}

# The drop counters of site B's pipe over isp1, one "reason count" a
# line, the reasons of doc/wire.md section 7 (what arrives; nopipe,
# toobig and send count what leaves).
b_drops() {
	ctl b -j show pipes 2>/dev/null | jq -r '.pipes[] |
	    select(.uplink == "isp1") | .drop | to_entries[] |
	    "\(.key) \(.value)"' 2>/dev/null | sort
}

make_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	[ -x "$FLOOD" ] || atf_fail "$FLOOD is not built"
	[ -x "$XFER" ] || atf_fail "$XFER is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"

	topo_create "$P" || atf_fail "cannot build the topology"
	for n in site-a site-b; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
}

# start_site SITE: its daemon in its namespace, with at most FD_LIMIT_B
# descriptors per process at site B when that is set
start_site() {
	(
		if [ "$1" = b ] && [ -n "${FD_LIMIT_B:-}" ]; then
			ulimit -n "$FD_LIMIT_B" || exit 1
		fi
		exec ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
		    -s "$PWD/$1.sock"
	) > "$1.log" 2>&1 &
	echo $! > "$1.pid"

	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    fl_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    fl_fail "no answer on site $1's control socket in 15 s"
	ps -o pid= --ppid "$(cat "$1.pid")" >> children.pids 2>/dev/null
}

# start_all [passive]: both sites in duplicate mode, all four pipes up,
# site B answering across the segment, and the attacker on ISP 1
# counted there; "passive" makes site B's pipe over isp1 wait for site
# A to connect, so that every session of that pipe comes through the
# listener the attacker floods.
start_all() {
	make_sites
	for s in a b; do
		case "$s" in
		a)	fpr=$FPR_B ;;
		b)	fpr=$FPR_A ;;
		esac
		site_conf "$s" "$PWD/$s.conf" "$PWD/site-$s.crt" \
		    "$PWD/site-$s.key" "$fpr" || atf_fail "cannot write $s.conf"
		site_conf_global "$s.conf" "probe interval 100ms timeout 300ms" ||
		    atf_fail "cannot edit $s.conf"
		site_conf_peer "$s.conf" "mode duplicate" ||
		    atf_fail "cannot edit $s.conf"
	done
	if [ "${1:-}" = passive ]; then
		sed 's/^\([[:space:]]*pipe isp1\) remote [^ ]*/\1/' b.conf \
		    > b.conf.new && mv b.conf.new b.conf && chmod 0600 b.conf ||
		    atf_fail "cannot edit b.conf"
		grep -q 'pipe isp1 preference' b.conf ||
		    atf_fail "b.conf still has a remote over isp1"
	fi
	for s in a b; do
		"$MARCONID" -n -f "$PWD/$s.conf" > "$s.check" 2>&1 ||
		    fl_fail "marconid -n refuses $s.conf: $(cat "$s.check")"
	done
	start_site a
	start_site b
	topo_wait 20 all_up ||
	    fl_fail "the four pipes are not up within 20 s: $(states)"
	topo_ping "${P}a" "$B_TAP" 10 ||
	    fl_fail "$B_TAP does not answer site A"
	attacker_create "$P" 1 || atf_fail "cannot make the attacker"
	isp_count_attacker "$P" 1 b "$PORT" ||
	    atf_fail "cannot count at ISP 1"
	# the attacker reaches the target
	topo_ping "${P}atk" "$B_UPLINK" 5 ||
	    atf_fail "the attacker does not reach $B_UPLINK"
}

fl_cleanup() {
	fl_init
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -TERM "$pid" 2>/dev/null
		done < helpers.pids
	fi
	parents=""
	for f in a.pid b.pid; do
		[ -f "$f" ] && parents="$parents $(cat "$f")"
	done
	pids="$parents $(cat children.pids 2>/dev/null)"
	# shellcheck disable=SC2086 # lists of PIDs
	signal_ours TERM $parents
	# shellcheck disable=SC2086
	if ! topo_wait 5 none_ours $pids; then
		# shellcheck disable=SC2086
		signal_ours KILL $pids
		# shellcheck disable=SC2086
		topo_wait 2 none_ours $pids
	fi
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -KILL "$pid" 2>/dev/null
		done < helpers.pids
	fi
	attacker_destroy "$P"
	topo_destroy "$P"
}

# "PID TITLE" of site $1's parent and of each of its children, sorted
procs_of() {
	_pp=$(cat "$1.pid")
	{
		echo "$_pp $(ps -o args= -p "$_pp" 2>/dev/null | untail)"
		ps -o pid=,args= --ppid "$_pp" 2>/dev/null | untail
	} | sort -n
}

# the PID of site $1's child titled $2
kid_pid() {
	ps -o pid=,args= --ppid "$(cat "$1.pid")" 2>/dev/null | untail |
	    awk -v t="$2" '{ pid = $1; sub(/^[0-9]+ /, "");
		if ($0 == t) print pid }'
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

fds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# "PID RSS-KB TITLE" of each of site $1's processes, the title in one
# word, sorted for join(1)
rss_of() {
	procs_of "$1" | while read -r _pid _title; do
		echo "$_pid $(rss_kb "$_pid") $(echo "$_title" | tr ' ' _)"
	done | sort
}

# A counter of UDP in namespace $1 from /proc/net/snmp, by name.
udp_snmp() {
	ip netns exec "$1" cat /proc/net/snmp 2>/dev/null | awk -v f="$2" '
	    $1 == "Udp:" && !h { for (i = 2; i <= NF; i++) c[$i] = i; h = 1;
		next }
	    $1 == "Udp:" && h { print $(c[f]) + 0; exit }'
}

ifstat() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3" 2>/dev/null ||
	    echo 0
}

# What the kernel dropped of the datagrams to site B's uplink isp1
# after ISP 1 counted them: the veth between ISP 1 and site B, and the
# receive buffer of the socket.
kernel_losses() {
	echo $(($(ifstat "${P}isp1" siteb tx_dropped) +
	    $(ifstat "${P}b" isp1 rx_dropped) +
	    $(udp_snmp "${P}b" RcvbufErrors) +
	    $(udp_snmp "${P}b" InErrors)))
}

# tap_watch: every frame the daemon of site B writes to its tap, into
# tap.pcap, from now on
tap_watch() {
	ip netns exec "${P}b" timeout 170 tcpdump -Z root -i tap0 -Q in -n \
	    -U -w tap.pcap > tap-tcpdump.out 2>&1 &
	record_helper $! timeout
	echo $! > tapwatch.pid
	_watching() {
		grep -qs 'listening on' tap-tcpdump.out
	}
	topo_wait 10 _watching ||
	    fl_fail "tcpdump does not start on tap0: $(cat tap-tcpdump.out)"
}

# tap_check: stops the watch; fails unless site B's tap received frames,
# all from site A's tap, and none with the marker of the flood
tap_check() {
	kill -INT "$(cat tapwatch.pid)" 2>/dev/null
	topo_wait 5 eval "! topo_alive $(cat tapwatch.pid)" || true
	mac_a=$(ip -n "${P}a" -o link show tap0 |
	    sed -n 's|.*link/ether \([0-9a-f:]*\).*|\1|p')
	[ -n "$mac_a" ] || fl_fail "site A's tap0 has no MAC address"
	tcpdump -r tap.pcap -n -e 2>/dev/null | awk '{ print $2 }' |
	    sort | uniq -c > tap-sources.txt
	frames=$(awk '{ n += $1 } END { print n + 0 }' tap-sources.txt)
	others=$(awk -v m="$mac_a" '$2 != m { n += $1 } END { print n + 0 }' \
	    tap-sources.txt)
	marked=$(grep -c -a -F 'MARCONI-FLOOD' tap.pcap)
	echo "site B's tap received $frames frames; $others not from site" \
	    "A's tap ($mac_a); $marked with the flood's marker;" \
	    "$(grep dropped tap-tcpdump.out | tr '\n' ' ')" >&2
	[ "$frames" -ge 100 ] ||
	    fl_fail "site B's tap received only $frames frames: the" \
	    "legitimate traffic did not cross"
	[ "$marked" -eq 0 ] ||
	    fl_fail "$marked frames with the flood's marker on site B's tap"
	[ "$others" -eq 0 ] || fl_fail "$others frames on site B's tap" \
	    "from another source than site A's tap: $(cat tap-sources.txt)"
	if grep -q '[1-9][0-9]* packets dropped by kernel' tap-tcpdump.out
	then
		fl_fail "tcpdump missed frames on site B's tap:" \
		    "$(cat tap-tcpdump.out)"
	fi
}

# legit_start SECONDS: pings every 20 ms and a transfer of 1 MB a
# second, from site A to site B across the segment, for SECONDS
legit_start() {
	_n=$(($1 * 50))
	ip netns exec "${P}a" ping -n -i 0.02 -c "$_n" -W 1 "$B_TAP" \
	    > ping.out 2>&1 &
	echo $! > ping.pid
	record_helper $! ping
	XFER_BYTES=$(($1 * 1000000))
	ip netns exec "${P}b" timeout $(($1 + 60)) "$XFER" recv -s 1 -t \
	    $(($1 + 50)) "$B_TAP" 5001 "$XFER_BYTES" 2> xfer-recv.err |
	    sha256sum > xfer-recv.sum &
	record_helper $! timeout
	_listening() {
		grep -qs listening xfer-recv.err
	}
	topo_wait 10 _listening || fl_fail "xfer does not listen at site B"
	ip netns exec "${P}a" timeout $(($1 + 60)) "$XFER" send -s 1 \
	    -r 1000000 -t $(($1 + 50)) "$B_TAP" 5001 "$XFER_BYTES" \
	    2> xfer-send.err &
	echo $! > xfer.pid
	record_helper $! timeout
}

# legit_check MAX-LOST-PERCENT: the pings and the transfer ended, and
# well
legit_check() {
	topo_wait 60 eval "! topo_alive $(cat ping.pid)" ||
	    fl_fail "ping did not end"
	topo_wait 60 eval "! topo_alive $(cat xfer.pid)" ||
	    fl_fail "the transfer did not end"
	sleep 1
	tx=$(awk '/packets transmitted/ { print $1 }' ping.out)
	rx=$(awk '/packets transmitted/ { print $4 }' ping.out)
	want=$("$XFER" gen -s 1 "$XFER_BYTES" | sha256sum)
	got=$(cat xfer-recv.sum)
	echo "legitimate traffic: $rx of $tx pings answered;" \
	    "$(tail -n 1 xfer-send.err); $(tail -n 1 xfer-recv.err)" >&2
	echo "transfer: sha256 sent ${want%% *}, received ${got%% *}" >&2
	[ "${tx:-0}" -gt 0 ] || fl_fail "ping sent nothing: $(cat ping.out)"
	[ $(((tx - rx) * 100)) -le $(($1 * tx)) ] ||
	    fl_fail "$((tx - rx)) of $tx pings lost during the flood," \
	    "more than $1 %"
	[ "$want" = "$got" ] || fl_fail "the transfer arrived altered or" \
	    "incomplete: $(cat xfer-send.err xfer-recv.err)"
}

# b_same: site B's processes are those of $1 (from procs_of), and none
# was restarted
b_same() {
	procs_of b > procs-after.txt
	cmp -s "$1" procs-after.txt || fl_fail "site B's processes changed:" \
	    "before: $(cat "$1" | tr '\n' ';') after:" \
	    "$(tr '\n' ';' < procs-after.txt)"
	for u in isp1 isp2; do
		r=$(num b "$u" .restarts)
		[ "$r" -eq 0 ] ||
		    fl_fail "site B restarted the process of $u $r times"
	done
}

# A daemon built with AddressSanitizer keeps what it frees in
# quarantine (256 MB by default) instead of using it again: its RSS
# grows with the traffic and tells nothing of a leak, which ASan
# reports itself.  The bounds on memory apply to other builds only.
sanitized() {
	grep -q -a -m 1 AddressSanitizer "$MARCONID"
}

# rss_check BEFORE AFTER BOUND-KB N: N processes of site B in both,
# none grown more than BOUND-KB
rss_check() {
	join "$1" "$2" | while read -r _pid _before _title _after _rest; do
		echo "  $_title (pid $_pid): RSS $_before kB -> $_after kB" \
		    "($((_after - _before)) kB)" >&2
		if [ $((_after - _before)) -gt "$3" ]; then
			echo "$_title grew $((_after - _before)) kB"
		fi
	done > rss-grew.txt
	if sanitized; then
		echo "  (built with AddressSanitizer: growth not bounded)" >&2
		: > rss-grew.txt
	fi
	[ "$(join "$1" "$2" | wc -l)" -eq "$4" ] ||
	    fl_fail "not $4 processes of site B before and after:" \
	    "$(cat "$1" "$2" | tr '\n' ';')"
	[ ! -s rss-grew.txt ] || fl_fail "site B's memory grew more than" \
	    "$3 kB: $(cat rss-grew.txt)"
}

# ---------------------------------------------------------------------

atf_test_case udp_flood cleanup
udp_flood_head() {
	atf_set descr "Random bytes, truncated headers, headers with bad" \
	    "tags and replayed captures flooded at site B's isp1 port: none" \
	    "reaches the tap, site B's processes live on with bounded" \
	    "memory, pings and a transfer cross, and the drop counters" \
	    "account for every datagram that reached the host"
	fl_head 180 sha256sum join cmp
}
udp_flood_body() {
	fl_init
	start_all
	echo "flood: seed $FLOOD_SEED, $FLOOD_RATE datagrams a second for" \
	    "$FLOOD_SECONDS s (FLOOD_SEED, FLOOD_RATE, FLOOD_SECONDS)" >&2

	# real datagrams to site B's isp1, caught at ISP 1: probes and
	# pings, for the replays and for the headers of the forgeries
	ip netns exec "${P}isp1" timeout 20 tcpdump -Z root -i siteb -n -U \
	    -c 200 -w caught.pcap \
	    "udp and dst host $B_UPLINK and dst port $PORT" \
	    > catch.out 2>&1 &
	record_helper $! timeout
	catcher=$!
	_capturing() {
		grep -qs 'listening on' catch.out
	}
	topo_wait 10 _capturing || fl_fail "tcpdump does not start at ISP 1"
	ip netns exec "${P}a" ping -n -q -i 0.01 -c 200 "$B_TAP" \
	    >/dev/null 2>&1
	topo_wait 15 eval "! topo_alive $catcher" ||
	    fl_fail "tcpdump did not catch 200 datagrams: $(cat catch.out)"

	# the state before, once the counters reached marconictl
	sleep 2
	procs_of b > procs-before.txt
	rss_of b > rss-before.txt
	b_drops > drops-before.txt
	k_before=$(kernel_losses)
	in1_before=$(num b isp1 .in_packets)
	out1_before=$(num a isp1 .out_packets)
	atk_before=$(isp_attacker_packets "$P" 1 udp)

	tap_watch
	legit_start $((FLOOD_SECONDS + 4))
	sleep 2
	ip netns exec "${P}atk" "$FLOOD" udp -c caught.pcap \
	    -d "$FLOOD_SECONDS" -r "$FLOOD_RATE" -s "$FLOOD_SEED" \
	    "$B_UPLINK" "$PORT" > flood-udp.out 2> flood-udp.err &
	flooder=$!
	record_helper $! flood
	# site B's pipe over isp1, twice a second while it lasts
	: > states.txt
	n=0
	while topo_alive "$flooder" && [ "$n" -lt $((FLOOD_SECONDS * 4)) ]; do
		state_of b isp1 >> states.txt
		sleep 0.5
		n=$((n + 1))
	done
	wait "$flooder" || fl_fail "flood udp failed: $(cat flood-udp.err)"
	legit_check 2
	# the uplink processes report once a second
	sleep 2
	tap_check

	echo "the attacker sent: $(awk '$1 == "kind" { print $2, $3 }' \
	    flood-udp.out | tr '\n' ',')" >&2
	b_same procs-before.txt
	downs=$(grep -vc '^up$' states.txt)
	[ "$downs" -eq 0 ] || fl_fail "site B's pipe over isp1 was not up" \
	    "$downs times of $(wc -l < states.txt) during the flood:" \
	    "$(sort states.txt | uniq -c | tr '\n' ' ')"
	all_up || fl_fail "not every pipe is up after the flood: $(states)"

	# memory: the receive path allocates nothing per datagram; what a
	# flood may touch for the first time is the fixed receive batch
	# (64 datagrams of up to 9320 bytes, 600 kB) and stack
	rss_of b > rss-after.txt
	rss_check rss-before.txt rss-after.txt 2048 4

	# per-pipe loss on the attacked pipe: frames site A sent over isp1
	# against frames site B took from it
	in1=$(($(num b isp1 .in_packets) - in1_before))
	out1=$(($(num a isp1 .out_packets) - out1_before))
	echo "pipe isp1: site A sent $out1 frames, site B received $in1" >&2
	[ "$out1" -gt 0 ] || fl_fail "site A sent nothing over isp1"
	[ $(((out1 - in1) * 100)) -le $((out1 * 2)) ] ||
	    fl_fail "site B lost $((out1 - in1)) of $out1 frames over the" \
	    "attacked pipe, more than 2 %"

	# accounting: what ISP 1 forwarded from the attacker (F), less
	# what the kernel dropped on the way in (K), must be what site B
	# counted as dropped (D), reason by reason when nothing was lost
	sent=$(awk '$1 == "sent" { print $2 }' flood-udp.out)
	fwd=$(($(isp_attacker_packets "$P" 1 udp) - atk_before))
	lost=$(($(kernel_losses) - k_before))
	b_drops > drops-after.txt
	join drops-before.txt drops-after.txt |
	    awk '{ print $1, $3 - $2 }' > drops-delta.txt
	frag=$(awk '$1 == "frag" { print $2 }' drops-delta.txt)
	dropped=$(awk '$1 != "frag" && $1 != "nopipe" && $1 != "toobig" &&
	    $1 != "send" { n += $2 } END { print n + 0 }' drops-delta.txt)
	echo "accounting: flood sent $sent, ISP 1 forwarded $fwd, the" \
	    "kernel dropped at most $lost, site B dropped $dropped (and" \
	    "$frag incomplete frames of its own traffic)" >&2
	awk '$1 == "expect" { print $2, $3 }' flood-udp.out | sort \
	    > expect.txt
	join expect.txt drops-delta.txt | awk '{ printf "  %-9s expected" \
	    " %7d  counted %7d\n", $1, $2, $3 }' >&2
	[ "$sent" -gt 0 ] || fl_fail "the flood sent nothing"
	[ "$fwd" -gt 0 ] || fl_fail "ISP 1 forwarded nothing of the flood"
	[ "$dropped" -le "$fwd" ] || fl_fail "site B counted $dropped" \
	    "drops for $fwd datagrams of the flood: its own traffic was" \
	    "dropped too"
	[ "$dropped" -ge $((fwd - lost)) ] || fl_fail "site B counted" \
	    "$dropped drops for $fwd datagrams of the flood of which the" \
	    "kernel dropped at most $lost: $((fwd - lost - dropped))" \
	    "unaccounted for"
	if [ "$fwd" -eq "$sent" ] && [ "$lost" -eq 0 ]; then
		bad=$(join expect.txt drops-delta.txt | awk '$2 != $3')
		[ -z "$bad" ] || fl_fail "drops by reason differ from" \
		    "those expected: $bad"
	else
		bad=$(join expect.txt drops-delta.txt | awk '$3 > $2')
		[ -z "$bad" ] || fl_fail "more drops for a reason than" \
		    "datagrams of the flood made for it: $bad"
	fi
}
udp_flood_cleanup() {
	fl_cleanup
}

# unauth_log_check START MADE: the lines site B logged for strangers'
# connections since START (seconds) are at most UNAUTH_LOG_BURST (5)
# per 10 s, and they say how many more they left out: of the MADE
# connections with garbage (the held ones come on top), most
unauth_log_check() {
	_secs=$(($(date +%s) - $1))
	_lines=$(grep -c 'session from .* closed' b.log)
	_left=$(sed -n 's/.*session from .* closed.* (\([0-9]*\) similar messages suppressed).*/\1/p' \
	    b.log | awk '{ n += $1 } END { print n + 0 }')
	echo "strangers' connections: $_lines lines logged in $_secs s," \
	    "$_left more suppressed" >&2
	[ "$_lines" -le $(((_secs / 10 + 1) * 5)) ] ||
	    fl_fail "site B logged $_lines lines for strangers in $_secs s:" \
	    "more than 5 per 10 s"
	[ $((_lines + _left)) -ge "$2" ] ||
	    fl_fail "site B logged $_lines lines and says it suppressed" \
	    "$_left, for $2 connections with garbage and more held"
}

atf_test_case tcp_flood cleanup
tcp_flood_head() {
	atf_set descr "Garbage where a TLS ClientHello should be, then" \
	    "500 connections held open without a byte, at site B's isp1" \
	    "port: site B lives on, a new session still comes up while" \
	    "they are held, they time out, and the descriptors and" \
	    "memory come back"
	fl_head 240 sha256sum join cmp
}
tcp_flood_body() {
	fl_init
	start_all passive
	echo "flood: seed $FLOOD_SEED, $HOLD_CONNS connections held" >&2

	sleep 2
	pipe_b=$(kid_pid b "marconid: pipe isp1")
	[ -n "$pipe_b" ] || fl_fail "no process titled marconid: pipe isp1" \
	    "at site B: $(procs_of b)"
	procs_of b > procs-before.txt
	rss_of b > rss-before.txt
	fd_before=$(fds "$pipe_b")
	rss_first=$(rss_kb "$pipe_b")
	tap_watch
	legit_start 60
	flood_start=$(date +%s)

	# garbage, one kind per connection; each one is closed by the
	# daemon on the TLS error or at the end of the 10 s handshake
	ip netns exec "${P}atk" timeout 60 "$FLOOD" tcp -n 300 \
	    -s "$FLOOD_SEED" "$B_UPLINK" "$PORT" > flood-tcp.out 2>&1 ||
	    fl_fail "flood tcp failed: $(cat flood-tcp.out)"
	echo "garbage: $(tr '\n' ',' < flood-tcp.out)" >&2
	conns=$(awk '$1 == "connections" { print $2 }' flood-tcp.out)
	[ "${conns:-0}" -ge 290 ] || fl_fail "only ${conns:-0} of 300" \
	    "connections with garbage were made: $(cat flood-tcp.out)"
	_fds_back() {
		[ "$(fds "$pipe_b")" -eq "$fd_before" ]
	}
	topo_wait 15 _fds_back || fl_fail "site B's isp1 process holds" \
	    "$(fds "$pipe_b") descriptors 15 s after the garbage," \
	    "$fd_before before"
	all_up || fl_fail "not every pipe is up after the garbage: $(states)"

	# the connections held
	ip netns exec "${P}atk" timeout 60 "$FLOOD" hold -n "$HOLD_CONNS" \
	    -d 15 "$B_UPLINK" "$PORT" > hold.out 2>&1 &
	record_helper $! flood
	holder=$!
	_held() {
		grep -qs '^connected' hold.out
	}
	topo_wait 15 _held || fl_fail "the connections are not open in 15 s"
	held=$(awk '$1 == "connected" { print $2 }' hold.out)
	# the daemon takes them from its backlog one by one
	_accepted() {
		[ "$(fds "$pipe_b")" -ge $((fd_before + held * 9 / 10)) ]
	}
	topo_wait 5 _accepted || true
	fd_held=$(fds "$pipe_b")
	rss_held=$(rss_kb "$pipe_b")
	echo "held $held connections; site B's isp1 process: $fd_before" \
	    "descriptors before, $fd_held while held; RSS $rss_first kB" \
	    "before, $rss_held kB while held" >&2
	[ "$held" -ge $((HOLD_CONNS * 9 / 10)) ] ||
	    fl_fail "only $held of $HOLD_CONNS connections opened"
	[ "$fd_held" -ge $((fd_before + held * 9 / 10)) ] ||
	    fl_fail "site B's isp1 process holds $fd_held descriptors" \
	    "with $held connections open, $fd_before before: it did not" \
	    "accept them"

	# a new session through the crowded listener: site A's uplink
	# process is killed, its new one connects to site B, whose pipe
	# over isp1 is passive
	accepted=$(grep -c "session from $A_UPLINK" b.log)
	pipe_a=$(kid_pid a "marconid: pipe isp1")
	[ -n "$pipe_a" ] || fl_fail "no process titled marconid: pipe isp1" \
	    "at site A"
	kill -KILL "$pipe_a"
	_a_restarted() {
		_p=$(kid_pid a "marconid: pipe isp1")
		[ -n "$_p" ] && [ "$_p" != "$pipe_a" ]
	}
	topo_wait 10 _a_restarted ||
	    fl_fail "site A did not restart its isp1 process"
	kid_pid a "marconid: pipe isp1" >> children.pids
	_pipe_back() {
		[ "$(state_of a isp1)" = up ] &&
		    [ "$(state_of b isp1)" = up ] &&
		    [ "$(grep -c "session from $A_UPLINK" b.log)" -gt \
		    "$accepted" ]
	}
	topo_alive "$holder" || fl_fail "the connections were not held" \
	    "long enough: $(cat hold.out)"
	topo_wait 10 _pipe_back || fl_fail "the pipe over isp1 is not up" \
	    "again with a session from site A within 10 s while" \
	    "$held connections are held: $(states)"
	topo_alive "$holder" || fl_fail "the pipe came back only after" \
	    "the connections were let go: $(cat hold.out)"
	echo "a new session from site A came up while the connections" \
	    "were held" >&2

	topo_wait 30 eval "! topo_alive $holder" ||
	    fl_fail "flood hold did not end"
	cat hold.out >&2
	closed=$(awk '$1 == "closed-by-peer" { print $2 }' hold.out)
	[ "${closed:-0}" -ge $((held * 9 / 10)) ] || fl_fail "site B closed" \
	    "${closed:-0} of $held idle connections within 15 s: its" \
	    "handshake time limit is 10 s"
	topo_wait 10 _fds_back || fl_fail "site B's isp1 process holds" \
	    "$(fds "$pipe_b") descriptors after the connections closed," \
	    "$fd_before before"
	rss_round1=$(rss_kb "$pipe_b")

	# again: what the first round took must serve the second, so
	# that a leak of 2 kB a connection would show as 1 MB
	ip netns exec "${P}atk" timeout 60 "$FLOOD" hold -n "$HOLD_CONNS" \
	    -d 12 "$B_UPLINK" "$PORT" > hold2.out 2>&1 ||
	    fl_fail "flood hold failed: $(cat hold2.out)"
	topo_wait 10 _fds_back || fl_fail "site B's isp1 process holds" \
	    "$(fds "$pipe_b") descriptors after the second round," \
	    "$fd_before before"
	rss_round2=$(rss_kb "$pipe_b")
	echo "site B's isp1 process: RSS $rss_round1 kB after the first" \
	    "round, $rss_round2 kB after the second" >&2
	[ $((rss_round2 - rss_round1)) -le 1024 ] || sanitized ||
	    fl_fail "site B's isp1" \
	    "process grew $((rss_round2 - rss_round1)) kB over a second" \
	    "round of $HOLD_CONNS connections: a leak"

	legit_check 2
	tap_check
	b_same procs-before.txt
	all_up || fl_fail "not every pipe is up after the flood: $(states)"
	unauth_log_check "$flood_start" "$conns"
	# the other processes of site B saw nothing of it; the isp1
	# process's growth is bounded by the rounds above
	rss_of b | grep -v 'pipe_isp1' > rss-after.txt
	grep -v 'pipe_isp1' rss-before.txt > rss-before-others.txt
	rss_check rss-before-others.txt rss-after.txt 2048 3
}
tcp_flood_cleanup() {
	fl_cleanup
}

atf_test_case tcp_fd_limit cleanup
tcp_fd_limit_head() {
	atf_set descr "More connections held open than site B's isp1" \
	    "process may have descriptors: it does not spin on accept," \
	    "a new session still comes up, and the descriptors come back"
	fl_head 180 sha256sum join cmp
}
tcp_fd_limit_body() {
	fl_init
	# 64 descriptors, and twice as many connections
	FD_LIMIT_B=64
	start_all passive
	conns=128
	pipe_b=$(kid_pid b "marconid: pipe isp1")
	[ -n "$pipe_b" ] || fl_fail "no process titled marconid: pipe isp1" \
	    "at site B: $(procs_of b)"
	limit=$(awk '/^Max open files/ { print $4 }' "/proc/$pipe_b/limits")
	[ "$limit" = "$FD_LIMIT_B" ] || atf_fail "site B's isp1 process may" \
	    "open $limit files, not $FD_LIMIT_B"
	sleep 2
	procs_of b > procs-before.txt
	fd_before=$(fds "$pipe_b")
	legit_start 30

	cpu_before=$(awk '{ print $14 + $15 }' "/proc/$pipe_b/stat")
	ip netns exec "${P}atk" timeout 60 "$FLOOD" hold -n "$conns" \
	    -d 12 "$B_UPLINK" "$PORT" > hold.out 2>&1 &
	record_helper $! flood
	holder=$!
	# the most descriptors it held while they connect
	peak=0
	n=0
	while [ "$n" -lt 150 ]; do
		f=$(fds "$pipe_b")
		[ "$f" -le "$peak" ] || peak=$f
		if grep -qs '^connected' hold.out &&
		    [ "$peak" -ge $((FD_LIMIT_B - 2)) ]; then
			break
		fi
		sleep 0.1
		n=$((n + 1))
	done
	echo "site B's isp1 process: $fd_before descriptors before, at" \
	    "most $peak while $conns connections were opened" >&2
	grep -qs '^connected' hold.out ||
	    fl_fail "the connections are not open in 15 s"
	[ "$peak" -ge $((FD_LIMIT_B - 2)) ] || fl_fail "site B's isp1" \
	    "process held at most $peak descriptors of $FD_LIMIT_B while" \
	    "$conns connections were opened"

	# site A's uplink process is killed: its new one must get a
	# session through the listener while no descriptor is free
	accepted=$(grep -c "session from $A_UPLINK" b.log)
	pipe_a=$(kid_pid a "marconid: pipe isp1")
	[ -n "$pipe_a" ] || fl_fail "no process titled marconid: pipe isp1" \
	    "at site A"
	kill -KILL "$pipe_a"
	_a_restarted() {
		_p=$(kid_pid a "marconid: pipe isp1")
		[ -n "$_p" ] && [ "$_p" != "$pipe_a" ]
	}
	topo_wait 10 _a_restarted ||
	    fl_fail "site A did not restart its isp1 process"
	kid_pid a "marconid: pipe isp1" >> children.pids
	_pipe_back() {
		[ "$(state_of a isp1)" = up ] &&
		    [ "$(state_of b isp1)" = up ] &&
		    [ "$(grep -c "session from $A_UPLINK" b.log)" -gt \
		    "$accepted" ]
	}
	topo_wait 8 _pipe_back || fl_fail "the pipe over isp1 is not up" \
	    "again with a session from site A within 8 s while site B's" \
	    "isp1 process has no descriptor left: $(states)"
	topo_alive "$holder" || fl_fail "the pipe came back only after" \
	    "the connections were let go: $(cat hold.out)"
	echo "a new session from site A came up with every descriptor" \
	    "taken" >&2

	topo_wait 30 eval "! topo_alive $holder" ||
	    fl_fail "flood hold did not end"
	cpu_after=$(awk '{ print $14 + $15 }' "/proc/$pipe_b/stat")
	tck=$(getconf CLK_TCK)
	cpu_ms=$(((cpu_after - cpu_before) * 1000 / tck))
	echo "site B's isp1 process used $cpu_ms ms of CPU over the 12 s" \
	    "of the hold, $(tr '\n' ' ' < hold.out)" >&2
	# its share of the traffic is a few hundred ms; a loop on accept
	# takes a core for as long as the descriptors are gone
	[ "$cpu_ms" -le 4000 ] || fl_fail "site B's isp1 process used" \
	    "$cpu_ms ms of CPU in 12 s with its descriptors exhausted:" \
	    "it spins on accept"
	_fds_back() {
		[ "$(fds "$pipe_b")" -eq "$fd_before" ]
	}
	topo_wait 15 _fds_back || fl_fail "site B's isp1 process holds" \
	    "$(fds "$pipe_b") descriptors after the connections closed," \
	    "$fd_before before"
	legit_check 2
	b_same procs-before.txt
	all_up || fl_fail "not every pipe is up after the flood: $(states)"
}
tcp_fd_limit_cleanup() {
	fl_cleanup
}

atf_init_test_cases() {
	atf_add_test_case udp_flood
	atf_add_test_case tcp_flood
	atf_add_test_case tcp_fd_limit
}
