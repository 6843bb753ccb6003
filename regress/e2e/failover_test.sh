#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by within and topo_wait
#
# End-to-end tests of failover between pipes: site A and site B of the
# two-site topology (topology.sh), each with two uplinks, isp1 preferred
# (preference 10) and isp2 standby (20), every pipe probed every 100 ms
# and down after 300 ms without an answer.  An ISP outage is a black
# hole inside the ISP (isp_cut): the links stay up and the TLS sessions
# do not end, only the probes tell.  The cases measure what the sites
# see across the virtual segment while ISP 1 fails: how long pings are
# lost, whether a TCP stream lives on, when the traffic comes back to
# ISP 1 (after the hold-down, and once), how fast an idle pipe is found
# down, that duplicate mode loses nothing, that a flapping ISP does not
# drag the traffic along, and what marconictl changes at run time.
#
# Which pipe carries a peer's traffic is read from the "active" flag of
# `marconictl -j show pipes`, and from the pipes' out_packets counters.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every loop is bounded in count
# and in time.

# ---------------------------------------------------------------------
# helpers

# Paths and the topology library; called first by every body and cleanup.
fo_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mf$$
		echo "$P" > prefix
	fi
	# site B's address on the virtual segment, pinged from site A
	B_TAP=198.19.0.2
}

# fo_head [TIMEOUT [PROGRAM...]]: what every test case needs, and what
# this one needs besides
fo_head() {
	_timeout=${1:-120}
	[ $# -eq 0 ] || shift
	atf_set require.user root
	atf_set timeout "$_timeout"
	atf_set require.progs "ip nft openssl ping ps jq awk date $*"
}

# Fails the test case, after showing what the daemons said and saw; the
# reason is one line (kyua takes no other), what it quotes goes to the
# standard error whole.
fo_fail() {
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
			ctl "$s" -j show pipes >&2 2>&1
		fi
		if [ -s "monitor-$s.out" ]; then
			echo "--- site $s: marconictl monitor" >&2
			tail -n 40 "monitor-$s.out" >&2
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 40 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

# ctl_ok SITE COMMAND...: runs it, fails the test case unless it
# succeeds
ctl_ok() {
	_s=$1
	shift
	ctl "$_s" "$@" > ctl.out 2>&1 ||
	    fo_fail "marconictl $* at site $_s failed: $(cat ctl.out)"
}

# The other site's name, as a peer of site $1.
peer_of() {
	case "$1" in
	a)	echo site-b ;;
	b)	echo site-a ;;
	esac
}

# The uplinks whose pipes carry site $1's traffic ("active"), sorted
# and joined by commas; "none" if no pipe does, "?" if marconictl or
# jq could not say.
active_of() {
	_a=$(ctl "$1" -j show pipes 2>/dev/null | jq -r \
	    '[.pipes[] | select(.active == true) | .uplink] | sort |
	    join(",")' 2>/dev/null) || _a="?"
	echo "${_a:-none}"
}

active_is() {
	[ "$(active_of "$1")" = "$2" ]
}

both_active() {
	active_is a "$1" && active_is b "$1"
}

# state_of SITE UPLINK: the STATE column of `show pipes` for that pipe
state_of() {
	ctl "$1" show pipes 2>/dev/null | awk -v u="$2" '
	    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "STATE") c = i; next }
	    $2 == u && c { print $c }'
}

# all four pipes up, as `show pipes` says
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

out_packets() {
	_n=$(jpipe "$1" "$2" .out_packets)
	echo "${_n:-0}"
}

# sent_at_least SITE UPLINK N: true once the pipe's out_packets reach
# N; the uplink processes report their counters once a second, so this
# waits up to 3 s
sent_at_least() {
	_sent() {
		[ "$(out_packets "$1" "$2")" -ge "$3" ]
	}
	topo_wait 3 _sent "$@"
}

# within START MS STEP COMMAND...: true once COMMAND succeeds, tried
# every STEP seconds until MS milliseconds after START (in now_ms);
# WITHIN_MS says when, from START, it last answered.
within() {
	_start=$1
	# slower builds (sanitizers) stretch the bounds by this factor
	_ms=$(($2 * ${MARCONID_TIME_FACTOR:-1}))
	_step=$3
	shift 3
	_n=0
	while [ "$_n" -lt 2000 ]; do
		if "$@"; then
			WITHIN_MS=$(($(now_ms) - _start))
			return 0
		fi
		WITHIN_MS=$(($(now_ms) - _start))
		[ "$WITHIN_MS" -lt "$_ms" ] || return 1
		sleep "$_step"
		_n=$((_n + 1))
	done
	return 1
}

make_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
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

# write_confs [PEER-OPTION...]: a.conf and b.conf, two uplinks each,
# the probe timers said in full, and the options in the peer block of
# both sites
write_confs() {
	site_conf a "$PWD/a.conf" "$PWD/site-a.crt" "$PWD/site-a.key" \
	    "$FPR_B" || atf_fail "cannot write a.conf"
	site_conf b "$PWD/b.conf" "$PWD/site-b.crt" "$PWD/site-b.key" \
	    "$FPR_A" || atf_fail "cannot write b.conf"
	for s in a b; do
		site_conf_global "$s.conf" \
		    "${FO_PROBE:-probe interval 100ms timeout 300ms}" ||
		    atf_fail "cannot edit $s.conf"
		for o in "$@"; do
			site_conf_peer "$s.conf" "$o" ||
			    atf_fail "cannot edit $s.conf"
		done
		"$MARCONID" -n -f "$PWD/$s.conf" > "$s.check" 2>&1 ||
		    fo_fail "marconid -n refuses $s.conf: $(cat "$s.check")"
	done
}

# start_site SITE: its daemon in its namespace, in the foreground with
# debug logs to SITE.log; waits for its control socket.
start_site() {
	ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"

	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    fo_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    fo_fail "no answer on site $1's control socket in 15 s"
	# its children, for the cleanup should the parent die first
	ps -o pid= --ppid "$(cat "$1.pid")" >> children.pids 2>/dev/null
}

# start_sites [ACTIVE [PEER-OPTION...]]: both sites, all four pipes up,
# traffic on ACTIVE (isp1 unless told) at both sites, and site B
# answering across the segment.
start_sites() {
	_want=${1:-isp1}
	[ $# -eq 0 ] || shift
	make_sites
	write_confs "$@"
	start_site a
	start_site b
	topo_wait 20 all_up ||
	    fo_fail "the four pipes are not up within 20 s: $(states)"
	topo_wait 5 both_active "$_want" ||
	    fo_fail "traffic is not on $_want at both sites once up:" \
	    "site a on $(active_of a), site b on $(active_of b)"
	topo_ping "${P}a" "$B_TAP" 10 ||
	    fo_fail "$B_TAP does not answer site A"
}

# The cleanup of every test case: the helpers and the daemons we
# started, by PID, then the namespaces (which also ends whatever is
# left inside them).
fo_cleanup() {
	fo_init
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
	# the parents first: they end their children themselves
	# shellcheck disable=SC2086 # lists of PIDs
	signal_ours TERM $parents
	# shellcheck disable=SC2086
	if ! topo_wait 5 none_ours $pids; then
		# shellcheck disable=SC2086
		signal_ours KILL $pids
		# shellcheck disable=SC2086
		topo_wait 2 none_ours $pids
	fi
	# a helper that ignored TERM
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -KILL "$pid" 2>/dev/null
		done < helpers.pids
	fi
	topo_destroy "$P"
}

# Both daemons alive, and no uplink process restarted (a crash the
# parent repairs would otherwise go unseen).
check_alive() {
	for s in a b; do
		topo_alive "$(cat "$s.pid")" ||
		    fo_fail "marconid of site $s died"
		for u in isp1 isp2; do
			r=$(jpipe "$s" "$u" .restarts)
			[ "${r:-0}" -eq 0 ] || fo_fail "site $s restarted the" \
			    "process of $u $r times"
		done
	done
}

# ping_start NAME COUNT INTERVAL: echo requests from site A to site B
# across the segment, in the background, each reply with its time
# (-D), into NAME.out
ping_start() {
	ip netns exec "${P}a" ping -n -D -i "$3" -c "$2" -W 1 "$B_TAP" \
	    > "$1.out" 2>&1 &
	echo $! > "$1.pid"
	record_helper $! ping
}

# ping_wait NAME SECONDS: true once that ping has ended
ping_wait() {
	topo_wait "$2" eval "! topo_alive $(cat "$1.pid")"
}

# ping_stats NAME: what NAME.out says, as "transmitted received
# duplicates longest-run-lost first-seq-of-that-run gap-ms", the gap
# being the time between the replies around that run (-1 when the run
# goes to the end)
ping_stats() {
	awk '
	/bytes from/ && /icmp_seq=/ {
		match($0, /icmp_seq=[0-9]+/)
		s = substr($0, RSTART + 9, RLENGTH - 9) + 0
		if (s > maxs)
			maxs = s
		if (/DUP!/) {
			dups++
			next
		}
		if (!(s in got)) {
			got[s] = 1
			rx++
			t = $1
			gsub(/[][]/, "", t)
			at[s] = t
		}
	}
	/packets transmitted/ { tx = $1 }
	END {
		if (tx == 0)
			tx = maxs
		run = best = 0
		bstart = 0
		gap = -1
		last = ""
		for (s = 1; s <= tx; s++) {
			if (s in got) {
				if (run > best) {
					best = run
					bstart = s - run
					gap = -1
					if (last != "")
						gap = int((at[s] - last) * 1000)
				}
				run = 0
				last = at[s]
			} else
				run++
		}
		if (run > best) {
			best = run
			bstart = tx - run + 1
			gap = -1
		}
		printf "%d %d %d %d %d %d\n", tx, rx + 0, dups + 0, best,
		    bstart, gap
	}' "$1.out"
}

# ---------------------------------------------------------------------

atf_test_case blackhole_failover cleanup
blackhole_failover_head() {
	atf_set descr "Pings every 10 ms across the segment while ISP 1" \
	    "turns into a black hole: no run of lost pings reaches 1 s," \
	    "and the traffic moves to isp2 at both sites"
	fo_head 120
}
blackhole_failover_body() {
	fo_init
	start_sites
	before1=$(out_packets a isp1)
	before2=$(out_packets a isp2)

	# 1500 pings, 15 s at the rate asked; the cut after 3 s
	ping_start fast 1500 0.01
	t_ping=$(now_ms)
	sleep 3
	t_cut=$(now_ms)
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	ping_wait fast 45 || fo_fail "ping did not end in 45 s"

	# shellcheck disable=SC2046 # six numbers
	set -- $(ping_stats fast)
	tx=$1 rx=$2 run=$4 first=$5 gap=$6
	[ "$tx" -gt 0 ] || fo_fail "ping sent nothing: $(tail -n 5 fast.out)"
	# the last reply before the cut, by the times ping printed
	cutseq=$(awk -v t="$t_cut" '/icmp_seq=/ {
		u = $1
		gsub(/[][]/, "", u)
		if (u * 1000 >= t)
			exit
		match($0, /icmp_seq=[0-9]+/)
		s = substr($0, RSTART + 9, RLENGTH - 9)
	    }
	    END { print s }' fast.out)
	echo "ping: $rx of $tx answered; the longest run lost: $run from" \
	    "icmp_seq=$first, $gap ms between replies; ISP 1 cut" \
	    "$((t_cut - t_ping)) ms after the start, the last reply before" \
	    "it icmp_seq=${cutseq:-?}" >&2
	[ "$run" -lt 100 ] || fo_fail "$run pings in a row lost" \
	    "($((run * 10)) ms at 10 ms each) from icmp_seq=$first when" \
	    "ISP 1 was cut; wanted under 100 (1 s); $rx of $tx answered"
	# and in time, should ping have sent less often than asked
	[ "$gap" -lt 1000 ] || fo_fail "no reply for $gap ms around the" \
	    "$run pings lost from icmp_seq=$first when ISP 1 was cut;" \
	    "wanted under 1 s"

	for s in a b; do
		active_is "$s" isp2 || fo_fail "after the cut site $s's" \
		    "traffic is on $(active_of "$s"), not isp2"
		st=$(state_of "$s" isp1)
		[ "$st" = down ] || fo_fail "site $s's pipe over isp1 is" \
		    "\"$st\" more than 10 s after the cut, not down"
	done
	# at least the requests after the cut went over isp2
	sent_at_least a isp2 $((before2 + 1000))
	after1=$(out_packets a isp1)
	after2=$(out_packets a isp2)
	echo "site A out_packets: isp1 $before1 -> $after1," \
	    "isp2 $before2 -> $after2" >&2
	[ $((after2 - before2)) -ge 1000 ] || fo_fail "site A sent only" \
	    "$((after2 - before2)) packets over isp2 during the pings"
	check_alive
}
blackhole_failover_cleanup() {
	fo_cleanup
}

# suspect_phase NAME: pings every 2 ms (ping sends fewer while none come
# back) from A to B for 5 s, ISP 1 cut 1.5 s in; prints the time in
# ms between the replies around the longest run of pings lost, 0 when
# none was
suspect_phase() {
	ping_start "$1" 2500 0.002
	sleep 1.5
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	ping_wait "$1" 45 || fo_fail "ping did not end in 45 s"
	# shellcheck disable=SC2046 # six numbers
	set -- $(ping_stats "$1")
	echo "ping: $2 of $1 answered, the longest run lost $4 from" \
	    "icmp_seq=$5, $6 ms between the replies around it" >&2
	[ "$2" -gt 100 ] || fo_fail "only $2 pings answered"
	# suspect sends again what the cut took: it may lose nothing
	if [ "$4" -eq 0 ]; then
		echo 0
		return
	fi
	[ "$6" -gt 0 ] || fo_fail "the cut lost everything after it: $*"
	echo "$6"
}

atf_test_case suspect_cut cleanup
suspect_cut_head() {
	atf_set descr "With the default timers, a cut of ISP 1 loses" \
	    "measurably less with suspect (frames over isp2 as well as" \
	    "soon as an answer is overdue) than without, in the same" \
	    "test; suspect spells and the frames sent twice are counted"
	fo_head 180
}
suspect_cut_body() {
	fo_init
	make_sites
	for s in a b; do
		fpr=$FPR_A
		[ "$s" = a ] && fpr=$FPR_B
		site_conf "$s" "$PWD/$s.conf" "$PWD/site-$s.crt" \
		    "$PWD/site-$s.key" "$fpr" || atf_fail "cannot write $s.conf"
		cp "$s.conf" "$s.yes"
		site_conf_global "$s.conf" "holddown 1s" &&
		    site_conf_global "$s.yes" "holddown 1s" &&
		    site_conf_global "$s.conf" "probe suspect no" ||
		    atf_fail "cannot edit $s.conf"
		"$MARCONID" -n -f "$PWD/$s.conf" > "$s.check" 2>&1 ||
		    fo_fail "marconid -n refuses $s.conf: $(cat "$s.check")"
	done
	start_site a
	start_site b
	topo_wait 20 all_up ||
	    fo_fail "the four pipes are not up within 20 s: $(states)"
	topo_wait 5 both_active isp1 || fo_fail "traffic is not on isp1"

	gap_no=$(suspect_phase without) || exit 1
	n=$(jpipe a isp1 .suspects)
	[ "${n:-x}" = 0 ] || fo_fail "with suspect no, isp1 went suspect" \
	    "$n times"

	isp_restore "$P" 1 || atf_fail "cannot restore ISP 1"
	topo_wait 20 both_active isp1 ||
	    fo_fail "traffic did not come back to isp1: $(states)"
	for s in a b; do
		cp "$s.yes" "$s.conf" && chmod 0600 "$s.conf"
		ctl "$s" reload > reload.out 2>&1 ||
		    fo_fail "reload at site $s: $(cat reload.out)"
	done
	sleep 3
	topo_wait 10 both_active isp1 || fo_fail "traffic is not on isp1"

	gap_yes=$(suspect_phase with) || exit 1
	n=$(jpipe a isp1 .suspects)
	frames=$(ctl a -j show peers 2>/dev/null |
	    jq -r '.peers[0].suspect_frames' 2>/dev/null)
	echo "a cut of ISP 1 left no reply for $gap_no ms without" \
	    "suspect, $gap_yes ms with; site A's isp1 went suspect $n" \
	    "times, $frames frames sent twice" >&2
	[ "${n:-0}" -ge 1 ] || fo_fail "isp1 never went suspect at site A"
	[ "${frames:-0}" -gt 0 ] ||
	    fo_fail "no frame was sent twice while isp1 was suspect"
	# measurably: 20 ms less at least (a busy machine stretches both)
	[ $((gap_yes + 20)) -le "$gap_no" ] ||
	    fo_fail "a cut left no reply for $gap_yes ms with suspect," \
	    "$gap_no ms without: not 20 ms less"
	check_alive
}
suspect_cut_cleanup() {
	fo_cleanup
}

atf_test_case resend_cut cleanup
resend_cut_head() {
	atf_set descr "When isp1 goes suspect in a cut, each site sends" \
	    "again over isp2 the frames isp1 carried since its last" \
	    "answered probe: of pings 2 ms apart, the cut loses 3 in a" \
	    "row at most (those of the time to suspect isp1 without the" \
	    "resend), and the frames sent again are counted"
	fo_head 120
}
resend_cut_body() {
	fo_init
	start_sites
	# the pipe's own figure, a little after the first answers
	sleep 2
	after=$(jpipe a isp1 .suspect_after_ms)
	[ "${after:-0}" -gt 0 ] || fo_fail "no suspect after for isp1"
	ping_start resend 2500 0.002
	sleep 1.5
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	ping_wait resend 45 || fo_fail "ping did not end in 45 s"
	# shellcheck disable=SC2046 # six numbers
	set -- $(ping_stats resend)
	echo "ping: $2 of $1 answered, the longest run lost $4 from" \
	    "icmp_seq=$5; isp1's suspect after: $after ms" >&2
	[ "$2" -gt 100 ] || fo_fail "only $2 pings answered"
	# a ping every 2 ms: those of the time to suspect isp1 (about
	# 30 ms on veth) were lost without the resend, 10 or more
	[ "$4" -le 3 ] ||
	    fo_fail "the cut lost a run of $4 pings, 2 ms apart, of the" \
	    "time to suspect isp1 ($after ms): more than 3"
	for s in a b; do
		n=$(jpipe "$s" isp1 .suspects)
		[ "${n:-0}" -ge 1 ] ||
		    fo_fail "isp1 never went suspect at site $s"
		frames=$(ctl "$s" -j show peers 2>/dev/null |
		    jq -r '.peers[0].resent_frames' 2>/dev/null)
		echo "site $s sent $frames frames again" >&2
		[ "${frames:-0}" != null ] && [ "${frames:-0}" -gt 0 ] ||
		    fo_fail "site $s sent no frame again when isp1 went" \
		    "suspect"
	done
	check_alive
}
resend_cut_cleanup() {
	fo_cleanup
}

atf_test_case tcp_survives cleanup
tcp_survives_head() {
	atf_set descr "A TCP connection carrying a line every 50 ms lives" \
	    "through the cut of ISP 1: lines sent after the cut arrive" \
	    "within seconds, and every line arrives once, in order"
	fo_head 120 nc ss
}
tcp_survives_body() {
	fo_init
	start_sites
	lines=300

	# -d: the listener reads nothing from its standard input
	ip netns exec "${P}b" timeout 60 nc -d -l "$B_TAP" 5001 \
	    > received.txt 2> nc-b.err &
	record_helper $! timeout
	listener=$!
	listening() {
		ip netns exec "${P}b" ss -Hltn 'sport = :5001' 2>/dev/null |
		    grep -q .
	}
	topo_wait 10 listening || fo_fail "nc does not listen at site B"

	# the sender reads its lines from a generator that says its PID
	# first: each line is its number and the time it was written, in ms
	sh -c 'echo $$ > generator.pid
	    i=0
	    while [ "$i" -lt "$1" ]; do
		echo "$i $(date +%s%3N)" || exit 1
		sleep 0.05
		i=$((i + 1))
	    done' failover-generator "$lines" |
	    ip netns exec "${P}a" timeout 60 nc -N "$B_TAP" 5001 \
	    > /dev/null 2> nc-a.err &
	sender=$!
	record_helper "$sender" timeout
	topo_wait 5 test -s generator.pid ||
	    fo_fail "the generator of the stream did not start"
	record_helper "$(cat generator.pid)" failover-generator

	# the newest complete line received: its time of writing
	newest() {
		# the time as a string: awk would print a number this large
		# with an exponent
		awk '/^[0-9]+ [0-9]+$/ && length($2) == 13 { t = $2 }
		    END { print (t == "" ? 0 : t) }' received.txt
	}
	flowing() {
		[ "$(wc -l < received.txt)" -ge 20 ]
	}
	topo_wait 10 flowing || fo_fail "the stream does not reach site B:" \
	    "$(wc -l < received.txt) lines in 10 s; $(cat nc-a.err nc-b.err)"
	sleep 2

	t_cut=$(now_ms)
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	after_cut() {
		[ "$(newest)" -gt "$t_cut" ]
	}
	if ! within "$t_cut" 5000 0.1 after_cut; then
		n=$(newest)
		fo_fail "no line written after the cut reached site B within" \
		    "5 s; the newest was written $((t_cut - n)) ms before" \
		    "the cut; $(wc -l < received.txt) lines received"
	fi
	echo "the first line written after the cut reached site B" \
	    "within $WITHIN_MS ms of the cut" >&2
	topo_alive "$sender" || fo_fail "nc at site A ended after the cut:" \
	    "$(cat nc-a.err)"
	ip netns exec "${P}a" ss -Htn state established \
	    'dport = :5001' > ss.out 2>&1
	[ -s ss.out ] || fo_fail "site A has no established connection to" \
	    "port 5001 after the cut"

	# the generator ends after its lines, nc after sending them all
	topo_wait 40 eval "! topo_alive $sender" ||
	    fo_fail "nc at site A did not end after the generator"
	wait "$sender"
	rc=$?
	[ "$rc" -eq 0 ] || fo_fail "nc at site A exited $rc: $(cat nc-a.err)"
	topo_wait 10 eval "! topo_alive $listener" ||
	    fo_fail "nc at site B did not end after the sender"
	bad=$(awk -v n="$lines" '
	    $1 != NR - 1 { print "line " NR " is \"" $0 "\""; exit }
	    END { if (NR != n) print NR " lines of " n }' received.txt)
	[ -z "$bad" ] || fo_fail "site B received the stream altered: $bad"
	check_alive
}
tcp_survives_cleanup() {
	fo_cleanup
}

atf_test_case holddown_return cleanup
holddown_return_head() {
	atf_set descr "With holddown 3s, traffic stays on isp2 for at" \
	    "least 3 s after ISP 1 is restored, then returns to isp1," \
	    "once, at both sites"
	fo_head 120 stdbuf
}
holddown_return_body() {
	fo_init
	start_sites isp1 "holddown 3s"
	# state changes as they happen, for the report and a last check
	stdbuf -oL "$MARCONICTL" -s "$PWD/a.sock" monitor \
	    > monitor-a.out 2>&1 &
	record_helper $! monitor
	ping_start slow 600 0.05

	t_cut=$(now_ms)
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	within "$t_cut" 5000 0.1 both_active isp2 ||
	    fo_fail "5 s after the cut the traffic is not on isp2:" \
	    "site a on $(active_of a), site b on $(active_of b); $(states)"
	echo "traffic on isp2 at both sites $WITHIN_MS ms after the cut" >&2
	sleep 1

	# every 100 ms for 10 s from the restore: the time from it, the
	# active pipes at each site, the state of site A's isp1
	t_res=$(now_ms)
	isp_restore "$P" 1 || atf_fail "cannot restore ISP 1"
	: > series.txt
	n=0
	while [ "$n" -lt 150 ]; do
		aa=$(active_of a)
		ab=$(active_of b)
		st=$(state_of a isp1)
		t=$(($(now_ms) - t_res))
		echo "$t $aa $ab ${st:-?}" >> series.txt
		[ "$t" -lt 10000 ] || break
		sleep 0.1
		n=$((n + 1))
	done

	# per site: what it started on, how many changes, which, when
	for col in 2 3; do
		case "$col" in
		2)	s=a ;;
		3)	s=b ;;
		esac
		# shellcheck disable=SC2046 # fields, then a list
		set -- $(awk -v c="$col" '
		    $c == "?" { next }
		    first == "" { first = $c; prev = $c }
		    $c != prev {
			n++
			list = list " " prev "->" $c "@" $1 "ms"
			if ($c == "isp1" && back == "")
				back = $1
			prev = $c
		    }
		    $4 == "up" && up == "" { up = $1 }
		    END {
			print first, n + 0, (back == "" ? -1 : back),
			    (up == "" ? -1 : up), list
		    }' series.txt)
		first=$1 changes=$2 back=$3 up=$4
		shift 4
		list="$*"
		echo "site $s: on $first at the restore; $changes" \
		    "change(s):${list:- none}" >&2
		[ "$first" = isp2 ] || fo_fail "site $s was on $first at the" \
		    "restore of ISP 1, not isp2"
		[ "$back" -ge 0 ] || fo_fail "site $s did not return to isp1" \
		    "within 10 s of the restore (holddown 3s); changes:" \
		    "${list:-none}; isp1 at site a $(state_of a isp1)"
		[ "$back" -ge 3000 ] || fo_fail "site $s returned to isp1" \
		    "$back ms after the restore, before the 3 s hold-down"
		[ "$changes" -eq 1 ] || fo_fail "site $s changed pipes" \
		    "$changes times after the restore, wanted once:$list"
		if [ "$s" = a ]; then
			# the pipe was up, and waited the hold-down out
			if [ "$up" -lt 0 ] || [ $((back - up)) -lt 2800 ]; then
				fo_fail "site a's isp1 was seen up at $up ms" \
				    "and active at $back ms after the" \
				    "restore: it did not stay up for the 3 s" \
				    "hold-down first"
			fi
		fi
	done

	# "TIME PEER UPLINK: OLD -> NEW (REASON)", one line per change
	for st in down up; do
		grep -q "isp1: [a-z]* -> $st" monitor-a.out ||
		    fo_fail "marconictl monitor at site a printed no change" \
		    "of isp1 to $st through the cut and the restore:" \
		    "$(head -n 5 monitor-a.out)"
	done
	check_alive
}
holddown_return_cleanup() {
	fo_cleanup
}

atf_test_case idle_detect cleanup
idle_detect_head() {
	atf_set descr "With no traffic on the segment, the cut of ISP 1" \
	    "shows isp1 down in show pipes at both sites within 1 s"
	fo_head 120
}
idle_detect_body() {
	fo_init
	start_sites
	# nothing crosses for a while but the probes
	sleep 3

	t_cut=$(now_ms)
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	both_down() {
		[ "$(state_of a isp1)" = down ] &&
		    [ "$(state_of b isp1)" = down ]
	}
	within "$t_cut" 1000 0.05 both_down ||
	    fo_fail "isp1 is not down at both sites 1 s after the cut" \
	    "($WITHIN_MS ms): site a \"$(state_of a isp1)\"," \
	    "site b \"$(state_of b isp1)\""
	echo "isp1 down at both sites $WITHIN_MS ms after the cut" >&2
	for s in a b; do
		st=$(state_of "$s" isp2)
		[ "$st" = up ] || fo_fail "site $s's isp2 is \"$st\" after" \
		    "the cut of ISP 1"
	done
	check_alive
}
idle_detect_cleanup() {
	fo_cleanup
}

atf_test_case duplicate_no_loss cleanup
duplicate_no_loss_head() {
	atf_set descr "In duplicate mode at both sites, pings every 10 ms" \
	    "all come back through the cut of ISP 1, none twice"
	fo_head 120
}
duplicate_no_loss_body() {
	fo_init
	start_sites isp1,isp2 "mode duplicate"
	for s in a b; do
		m=$(ctl "$s" -j show peers 2>/dev/null | jq -r '.peers[0].mode')
		[ "$m" = duplicate ] ||
		    fo_fail "site $s's peer is in mode \"$m\", not duplicate"
	done
	before1=$(out_packets a isp1)
	before2=$(out_packets a isp2)

	ping_start fast 1500 0.01
	sleep 3
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	ping_wait fast 45 || fo_fail "ping did not end in 45 s"

	# shellcheck disable=SC2046 # six numbers
	set -- $(ping_stats fast)
	tx=$1 rx=$2 dups=$3 run=$4 first=$5
	[ "$tx" -gt 0 ] || fo_fail "ping sent nothing: $(tail -n 5 fast.out)"
	echo "ping: $rx of $tx answered, $dups duplicates; the longest run" \
	    "lost: $run from icmp_seq=$first" >&2
	[ "$rx" -eq "$tx" ] || fo_fail "$((tx - rx)) of $tx pings lost" \
	    "through the cut in duplicate mode, $run in a row from" \
	    "icmp_seq=$first"
	[ "$dups" -eq 0 ] || fo_fail "$dups duplicate replies (DUP!): the" \
	    "copies were not dropped: $(grep -m 3 'DUP!' fast.out)"

	# every request went over both pipes until the cut, isp2 all along
	sent_at_least a isp2 $((before2 + tx))
	after1=$(out_packets a isp1)
	after2=$(out_packets a isp2)
	echo "site A out_packets: isp1 $before1 -> $after1," \
	    "isp2 $before2 -> $after2" >&2
	[ $((after2 - before2)) -ge "$tx" ] || fo_fail "site A sent" \
	    "$((after2 - before2)) packets over isp2 for $tx requests"
	# ping -i 0.01 sends fewer than 100 a second on a slow machine
	[ $((after1 - before1)) -ge 100 ] || fo_fail "site A sent" \
	    "$((after1 - before1)) packets over isp1 in the 3 s before the cut"
	check_alive
}
duplicate_no_loss_cleanup() {
	fo_cleanup
}

# flap: ISP 1 cut, then restored and cut every half-second for 20 s;
# isp1 must not carry the traffic meanwhile, the daemons live on and
# most pings every 20 ms come back
flap() {
	start_sites isp1 "holddown 5s"
	ping_start flap 1500 0.02
	sleep 1

	# the first cut moves the traffic away; then the flapping starts
	t_cut=$(now_ms)
	isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
	within "$t_cut" 2000 0.05 both_active isp2 ||
	    fo_fail "2 s after the first cut the traffic is not on isp2:" \
	    "site a on $(active_of a), site b on $(active_of b)"

	# 40 half-seconds, restored then cut, the active pipes of both
	# sites looked at every 100 ms
	: > flap.txt
	t0=$(now_ms)
	k=0
	while [ "$k" -lt 40 ]; do
		if [ $((k % 2)) -eq 0 ]; then
			isp_restore "$P" 1 || atf_fail "cannot restore ISP 1"
		else
			isp_cut "$P" 1 || atf_fail "cannot cut ISP 1"
		fi
		end=$((t0 + (k + 1) * 500))
		i=0
		while [ "$i" -lt 10 ] && [ "$(now_ms)" -lt "$end" ]; do
			echo "$(($(now_ms) - t0)) $(active_of a)" \
			    "$(active_of b)" >> flap.txt
			sleep 0.1
			i=$((i + 1))
		done
		k=$((k + 1))
		# never more than 40 s whatever the machine does
		[ $(($(now_ms) - t0)) -lt 40000 ] || break
	done
	isp_restore "$P" 1 || atf_fail "cannot restore ISP 1"
	echo "flapped for $(($(now_ms) - t0)) ms, $k half-seconds," \
	    "$(wc -l < flap.txt) looks at the active pipes" >&2

	for s in a b; do
		topo_alive "$(cat "$s.pid")" ||
		    fo_fail "marconid of site $s died while ISP 1 flapped"
	done
	on1=$(awk '$2 ~ /isp1/ || $3 ~ /isp1/' flap.txt | head -n 3 |
	    tr '\n' ';')
	[ -z "$on1" ] || fo_fail "isp1 carried traffic while flapping" \
	    "(ms, site a, site b): $on1"
	ping_wait flap 30 || fo_fail "ping did not end in 30 s"
	# shellcheck disable=SC2046 # six numbers
	set -- $(ping_stats flap)
	tx=$1 rx=$2 run=$4 first=$5
	[ "$tx" -gt 0 ] || fo_fail "ping sent nothing: $(tail -n 5 flap.out)"
	echo "ping: $rx of $tx answered; the longest run lost: $run from" \
	    "icmp_seq=$first" >&2
	[ $(((tx - rx) * 100)) -lt $((tx * 20)) ] || fo_fail "$((tx - rx))" \
	    "of $tx pings lost while ISP 1 flapped, 20 % allowed; the" \
	    "longest run $run from icmp_seq=$first"
	topo_ping "${P}a" "$B_TAP" 5 ||
	    fo_fail "$B_TAP does not answer site A after the flapping"
	check_alive
}

atf_test_case flapping cleanup
flapping_head() {
	atf_set descr "ISP 1 cut and restored every second for 20 s with" \
	    "holddown 5s: the daemons live on, pings every 20 ms mostly" \
	    "come back, and isp1 never carries the traffic meanwhile"
	fo_head 180
}
flapping_body() {
	fo_init
	flap
}
flapping_cleanup() {
	fo_cleanup
}

atf_test_case flapping_suspect cleanup
flapping_suspect_head() {
	atf_set descr "The same with a probe timeout of 1s: the half-second" \
	    "cuts leave isp1 suspect, never down, and such spells restart" \
	    "its hold-down all the same"
	fo_head 180
}
flapping_suspect_body() {
	fo_init
	FO_PROBE="probe interval 100ms timeout 1s"
	flap
	# the case is the one meant: after the first cut, isp1 was found
	# down once at each site, then only suspect
	for s in a b; do
		n=$(grep -c \
		    'uplink isp1: .* -> down (no probe answered' "$s.log")
		[ "$n" -eq 1 ] || fo_fail "site $s found isp1 down $n times" \
		    "(1 wanted: the first cut only): the cuts did not test" \
		    "suspect spells alone"
		n=$(grep -c 'uplink isp1: up -> suspect' "$s.log")
		[ "$n" -ge 10 ] || fo_fail "site $s saw isp1 suspect $n" \
		    "times while it flapped, 10 or more wanted"
	done
}
flapping_suspect_cleanup() {
	fo_cleanup
}

atf_test_case ctl_control cleanup
ctl_control_head() {
	atf_set descr "marconictl moves the traffic at run time: pipe" \
	    "down and up, preference, prefer, peer mode, reset; -j show" \
	    "pipes tells it"
	fo_head 120 stdbuf
}
ctl_control_body() {
	fo_init
	start_sites isp1 "holddown 3s"
	stdbuf -oL "$MARCONICTL" -s "$PWD/a.sock" monitor \
	    > monitor-a.out 2>&1 &
	record_helper $! monitor

	ctl a -j show pipes > pipes.json 2>&1 ||
	    fo_fail "marconictl -j show pipes failed: $(cat pipes.json)"
	jq -e '.pipes | length == 2' pipes.json >/dev/null 2>&1 ||
	    fo_fail "-j show pipes is not two pipes: $(cat pipes.json)"
	for f in peer uplink state active preference rtt_us loss_ppm \
	    admin_down preferred out_packets; do
		jq -e ".pipes[0] | has(\"$f\")" pipes.json >/dev/null 2>&1 ||
		    fo_fail "-j show pipes has no \"$f\": $(cat pipes.json)"
	done
	rtt=$(jpipe a isp1 .rtt_us)
	[ "${rtt:-0}" -gt 0 ] || fo_fail "site a's isp1 has rtt_us" \
	    "\"$rtt\": no probe measured it"

	# out of service by hand: traffic on isp2 within a second
	t=$(now_ms)
	ctl_ok a pipe site-b isp1 down
	within "$t" 1000 0.05 active_is a isp2 || fo_fail "1 s after" \
	    "\"pipe site-b isp1 down\" site a is on $(active_of a)"
	echo "pipe isp1 down: on isp2 after $WITHIN_MS ms" >&2
	st=$(state_of a isp1)
	[ "$st" = disabled ] || fo_fail "after \"pipe site-b isp1 down\"" \
	    "show pipes says \"$st\" for isp1, not disabled"
	[ "$(jpipe a isp1 .admin_down)" = true ] || fo_fail "-j show" \
	    "pipes has admin_down \"$(jpipe a isp1 .admin_down)\" for isp1"
	topo_ping "${P}a" "$B_TAP" 5 ||
	    fo_fail "$B_TAP does not answer with isp1 down by hand"

	# back in service: traffic returns after the 3 s hold-down
	t=$(now_ms)
	ctl_ok a pipe site-b isp1 up
	within "$t" 8000 0.1 active_is a isp1 || fo_fail "8 s after" \
	    "\"pipe site-b isp1 up\" site a is on $(active_of a)" \
	    "(isp1 \"$(state_of a isp1)\", holddown 3s)"
	[ "$WITHIN_MS" -ge 3000 ] || fo_fail "site a was back on isp1" \
	    "$WITHIN_MS ms after \"pipe site-b isp1 up\", before the 3 s" \
	    "hold-down"
	echo "pipe isp1 up: back on isp1 after $WITHIN_MS ms" >&2
	[ "$(jpipe a isp1 .admin_down)" = false ] || fo_fail "-j show" \
	    "pipes has admin_down \"$(jpipe a isp1 .admin_down)\" after up"

	# a better preference for isp2
	t=$(now_ms)
	ctl_ok a pipe site-b isp2 preference 5
	within "$t" 1000 0.05 active_is a isp2 || fo_fail "1 s after" \
	    "\"pipe site-b isp2 preference 5\" site a is on $(active_of a)"
	[ "$(jpipe a isp2 .preference)" = 5 ] || fo_fail "-j show pipes" \
	    "has preference \"$(jpipe a isp2 .preference)\" for isp2, not 5"

	# reset: back to the configuration, isp1 up all along
	t=$(now_ms)
	ctl_ok a reset site-b
	within "$t" 1000 0.05 active_is a isp1 || fo_fail "1 s after" \
	    "\"reset site-b\" site a is on $(active_of a)"
	[ "$(jpipe a isp2 .preference)" = 20 ] || fo_fail "after reset" \
	    "isp2 has preference \"$(jpipe a isp2 .preference)\", not 20"

	# prefer, then peer mode, then reset again
	t=$(now_ms)
	ctl_ok a prefer site-b isp2
	within "$t" 1000 0.05 active_is a isp2 || fo_fail "1 s after" \
	    "\"prefer site-b isp2\" site a is on $(active_of a)"
	[ "$(jpipe a isp2 .preferred)" = true ] || fo_fail "-j show pipes" \
	    "has preferred \"$(jpipe a isp2 .preferred)\" for isp2"
	t=$(now_ms)
	ctl_ok a peer site-b mode duplicate
	within "$t" 1000 0.05 active_is a isp1,isp2 || fo_fail "1 s after" \
	    "\"peer site-b mode duplicate\" site a is on $(active_of a)"
	m=$(ctl a -j show peers 2>/dev/null | jq -r '.peers[0].mode')
	[ "$m" = duplicate ] || fo_fail "-j show peers has mode \"$m\"" \
	    "after \"peer site-b mode duplicate\""
	topo_ping "${P}a" "$B_TAP" 5 ||
	    fo_fail "$B_TAP does not answer in duplicate mode"
	t=$(now_ms)
	ctl_ok a reset site-b
	within "$t" 1000 0.05 active_is a isp1 || fo_fail "1 s after" \
	    "the second \"reset site-b\" site a is on $(active_of a)"
	ctl a -j show pipes > pipes.json 2>&1
	jq -e '[.pipes[] | .admin_down == false and .preferred == false]
	    | all' pipes.json >/dev/null 2>&1 || fo_fail "after reset" \
	    "-j show pipes still shows an override: $(cat pipes.json)"
	jq -e '[.pipes[] | {(.uplink): .preference}] | add ==
	    {"isp1": 10, "isp2": 20}' pipes.json >/dev/null 2>&1 ||
	    fo_fail "after reset the preferences are not 10 and 20:" \
	    "$(cat pipes.json)"
	m=$(ctl a -j show peers 2>/dev/null | jq -r '.peers[0].mode')
	[ "$m" = failover ] ||
	    fo_fail "after reset the peer is in mode \"$m\", not failover"

	# what does not exist is refused
	ctl a pipe site-x isp1 down > ctl.out 2>&1 &&
	    fo_fail "\"pipe site-x isp1 down\" succeeded: no such peer"
	ctl a pipe site-b isp9 down > ctl.out 2>&1 &&
	    fo_fail "\"pipe site-b isp9 down\" succeeded: no such pipe"

	grep isp1 monitor-a.out | grep -q disabled ||
	    fo_fail "marconictl monitor printed no line for isp1 disabled:" \
	    "$(head -n 5 monitor-a.out)"
	check_alive
}
ctl_control_cleanup() {
	fo_cleanup
}

atf_init_test_cases() {
	atf_add_test_case blackhole_failover
	atf_add_test_case suspect_cut
	atf_add_test_case resend_cut
	atf_add_test_case tcp_survives
	atf_add_test_case holddown_return
	atf_add_test_case idle_detect
	atf_add_test_case duplicate_no_loss
	atf_add_test_case flapping
	atf_add_test_case flapping_suspect
	atf_add_test_case ctl_control
}
