#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end test of faults: site A and site B of the two-site topology
# (topology.sh), two uplinks each, in failover mode (and, in the case
# chaos_balance, for 30 s in balance mode), while a checksummed
# transfer (xfer.c) and pings cross the segment from site A to site B.
# For 60 s, on a schedule drawn from a seed: each of the four uplink
# processes is killed with SIGKILL in turn (the parent restarts it and
# its pipe comes back), the ISPs turn into black holes and back at
# random (both at once for less than a second at a time), and ISP 1's
# link to site B is throttled with tc tbf below the rate of the
# transfer, so that it runs full.  Afterwards the tunnel must work,
# no process may hold more descriptors than before (a restarted uplink
# process is compared with its first incarnation), what arrived must be
# exactly what was sent (a transfer whose connection died is resumed
# where the receiver stands, and every byte is checked), and no ping
# may come back twice.
#
# chaos3: the same faults with three sites (mesh.sh), a hub A with
# relay on and two spokes B and C that peer with A only, for 40 s: each
# of the six uplink processes killed once, one site's line to one ISP
# cut at a time (sometimes two at once, which may cut a spoke off for
# a moment), while a transfer and pings go from spoke B to spoke C
# through the hub.  Afterwards every pipe is up again, every byte
# arrived once and intact, no ping came back twice.
#
# The seed is printed; CHAOS_SEED=N repeats a run's schedule.  The
# test cleans up whatever happens: its cleanup ends what it started, by
# PID only, and removes the namespaces.  Every loop is bounded.

# ---------------------------------------------------------------------
# helpers

ch_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	XFER=$SRCDIR/xfer
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=mesh.sh
	. "$SRCDIR/mesh.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	# chaos3 has three sites, in a mesh of its own
	SITES=$(cat sites 2>/dev/null || echo "a b")
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mch$$
		echo "$P" > prefix
	fi
	B_TAP=198.19.0.2
	CHAOS_SEED=${CHAOS_SEED:-7455}
	CHAOS_SECONDS=60
	# bytes a second of the transfer, which lasts about 50 s of that
	CHAOS_RATE=${CHAOS_RATE:-4000000}
}

ch_fail() {
	case "$*" in
	*"
"*)
		echo "--- $*" >&2
		;;
	esac
	for s in $SITES; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes" >&2
			ctl "$s" show pipes >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 30 "$s.log" >&2
		fi
	done
	[ ! -s chaos.log ] || { echo "--- the schedule, as run" >&2;
	    cat chaos.log >&2; }
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

ch_cleanup() {
	ch_init
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -TERM "$pid" 2>/dev/null
		done < helpers.pids
	fi
	parents=""
	for s in $SITES; do
		[ -f "$s.pid" ] && parents="$parents $(cat "$s.pid")"
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
	if [ -f sites ]; then
		mesh_destroy "$P"
	else
		topo_destroy "$P"
	fi
}

# the PID of site $1's child titled $2
kid_pid() {
	ps -o pid=,args= --ppid "$(cat "$1.pid")" 2>/dev/null | untail |
	    awk -v t="$2" '{ pid = $1; sub(/^[0-9]+ /, "");
		if ($0 == t) print pid }'
}

fds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# What each descriptor of process $1 is, by kind ("socket", "pipe",
# "anon_inode:[eventpoll]", a path), counted: for the report of a leak.
fd_kinds() {
	for _f in "/proc/$1/fd"/*; do
		readlink "$_f" 2>/dev/null | sed 's/:\[[0-9]*\]$//'
	done | sort | uniq -c | tr -s ' \n' ' ;'
}

# procs SITE: "NAME PID" for the parent, the engine and both uplink
# processes of the site
procs() {
	echo "parent $(cat "$1.pid")"
	echo "engine $(kid_pid "$1" "marconid: engine")"
	echo "isp1 $(kid_pid "$1" "marconid: pipe isp1")"
	echo "isp2 $(kid_pid "$1" "marconid: pipe isp2")"
}

# fd_table FILE: "SITE NAME PID FDS" of every process of both sites
fd_table() {
	for _s in a b; do
		procs "$_s" | while read -r _n _pid; do
			echo "$_s $_n ${_pid:-none} $(fds "${_pid:-0}")"
		done
	done > "$1"
}

# The schedule of the chaos, from the seed, one "MS ACTION ARGS" a line
# in order: "kill SITE UPLINK", "cut N", "restore N", "tbf N RATE",
# "notbf N".  Each uplink process is killed once, about every 12 s; the
# ISPs are cut one after the other for 0.5 to 4 s with gaps of up to 2
# s, and a cut may begin up to 0.8 s before the one before it ends, so
# that both are black holes for less than a second at a time; ISP 1's
# link to site B is throttled for 15 s somewhere in the middle.
schedule() {
	# the generator of Park and Miller, exact in any awk's doubles,
	# so that a seed gives the same schedule with any awk (srand()
	# and rand() differ between them)
	awk -v seed="$CHAOS_SEED" -v len=$((CHAOS_SECONDS * 1000)) \
	    -v rate="$CHAOS_RATE" '
	    function rnd() {
		x = (x * 16807) % 2147483647
		return (x / 2147483647)
	    }
	    BEGIN {
		x = seed % 2147483646 + 1
		# the kill order: a random permutation of the four
		n = split("a isp1,a isp2,b isp1,b isp2", who, ",")
		for (i = n; i > 1; i--) {
			j = int(rnd() * i) + 1
			t = who[i]; who[i] = who[j]; who[j] = t
		}
		for (i = 1; i <= n; i++) {
			t = 4000 + (i - 1) * 12000 + int(rnd() * 4000)
			printf "%d kill %s\n", t, who[i]
		}
		# black holes
		t = 1000 + int(rnd() * 2000)
		last = 0
		while (t < len - 5000) {
			# mostly the other ISP than the last one
			isp = 1 + int(rnd() * 2)
			if (last != 0 && rnd() < 0.7)
				isp = 3 - last
			d = 500 + int(rnd() * 3500)
			printf "%d cut %d\n", t, isp
			printf "%d restore %d\n", t + d, isp
			last = isp
			if (rnd() < 0.3)
				t += d - int(rnd() * 800)	# overlap
			else
				t += d + int(rnd() * 2000)
		}
		# saturation: half the rate of the transfer, in bit/s
		t = 15000 + int(rnd() * 15000)
		printf "%d tbf 1 %dbit\n", t, rate * 8 / 2
		printf "%d notbf 1\n", t + 15000
	    }' | sort -n -k 1,1
}

# run_schedule FILE: every action at its time from now, logged to
# chaos.log; at the end every ISP forwards again at full speed
run_schedule() {
	_t0=$(now_ms)
	_n=0
	while read -r _ms _what _a1 _a2; do
		_n=$((_n + 1))
		[ "$_n" -le 200 ] || break
		_wait=$((_t0 + _ms - $(now_ms)))
		if [ "$_wait" -gt 0 ]; then
			sleep "$(awk -v w="$_wait" 'BEGIN { printf "%.3f", w / 1000 }')"
		fi
		case "$_what" in
		kill)
			_pid=$(kid_pid "$_a1" "marconid: pipe $_a2")
			if [ -z "$_pid" ]; then
				echo "$_ms kill $_a1 $_a2: no such process" \
				    >> chaos.log
				continue
			fi
			kill -KILL "$_pid"
			echo "$_pid" >> "killed-$_a1-$_a2"
			;;
		cut)
			isp_cut "$P" "$_a1" || ch_fail "cannot cut ISP $_a1"
			;;
		restore)
			isp_restore "$P" "$_a1" ||
			    ch_fail "cannot restore ISP $_a1"
			;;
		tbf)
			isp_tbf "$P" "$_a1" b "$_a2" ||
			    ch_fail "cannot throttle ISP $_a1"
			;;
		notbf)
			ip netns exec "${P}isp$_a1" tc -s qdisc show dev siteb \
			    > "tbf-$_a1.txt" 2>&1
			isp_notbf "$P" "$_a1" b
			;;
		esac
		echo "$(($(now_ms) - _t0)) $_what $_a1 $_a2" \
		    "(planned at $_ms)" >> chaos.log
	done < "$1"
	# whatever the schedule, the end of the chaos
	_rest=$((_t0 + CHAOS_SECONDS * 1000 - $(now_ms)))
	if [ "$_rest" -gt 0 ]; then
		sleep "$(awk -v w="$_rest" 'BEGIN { printf "%.3f", w / 1000 }')"
	fi
	for _i in 1 2; do
		isp_restore "$P" "$_i"
		isp_notbf "$P" "$_i" b
	done
}

# ---------------------------------------------------------------------

atf_test_case chaos cleanup
chaos_head() {
	atf_set descr "Uplink processes killed, ISPs cut at random and a" \
	    "link throttled for 60 s during a transfer: afterwards the" \
	    "tunnel works, no descriptor leaked, and every byte arrived" \
	    "once and intact"
	atf_set require.user root
	atf_set timeout 180
	atf_set require.progs "ip nft tc openssl ping ps jq awk sha256sum date"
}
chaos_body() {
	ch_init
	chaos_run failover
}

# chaos_run MODE: the chaos, with the peers in MODE
chaos_run() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	[ -x "$XFER" ] || atf_fail "$XFER is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	bytes=$((CHAOS_RATE * (CHAOS_SECONDS - 10)))
	echo "chaos: seed $CHAOS_SEED (CHAOS_SEED=$CHAOS_SEED repeats this" \
	    "schedule), $CHAOS_SECONDS s, a transfer of $bytes bytes at" \
	    "$CHAOS_RATE bytes a second" >&2

	topo_create "$P" || atf_fail "cannot build the topology"
	for n in site-a site-b; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	site_conf a "$PWD/a.conf" "$PWD/site-a.crt" "$PWD/site-a.key" \
	    "$FPR_B" || atf_fail "cannot write a.conf"
	site_conf b "$PWD/b.conf" "$PWD/site-b.crt" "$PWD/site-b.key" \
	    "$FPR_A" || atf_fail "cannot write b.conf"
	for s in a b; do
		site_conf_global "$s.conf" "probe interval 100ms timeout 300ms" ||
		    atf_fail "cannot edit $s.conf"
		site_conf_peer "$s.conf" "mode $1" ||
		    atf_fail "cannot edit $s.conf"
		ip netns exec "$P$s" "$MARCONID" -dv -f "$PWD/$s.conf" \
		    -s "$PWD/$s.sock" > "$s.log" 2>&1 &
		echo $! > "$s.pid"
		topo_wait 15 ctl_answers_or_dead "$s" || true
		ctl_answers "$s" || ch_fail "marconid of site $s does not answer"
		ps -o pid= --ppid "$(cat "$s.pid")" >> children.pids
	done
	topo_wait 20 all_up ||
	    ch_fail "the four pipes are not up within 20 s: $(states)"
	topo_ping "${P}a" "$B_TAP" 10 || ch_fail "$B_TAP does not answer"

	# the descriptors of every process once all is up and quiet
	sleep 3
	fd_table fds-before.txt
	while read -r _s _n _pid _fds; do
		echo "$_s $_n $_pid $(fd_kinds "$_pid")" >> kinds-before.txt
	done < fds-before.txt
	grep -q ' none ' fds-before.txt &&
	    ch_fail "a process is missing: $(cat fds-before.txt)"

	schedule > schedule.txt
	echo "the schedule: $(tr '\n' ';' < schedule.txt)" >&2

	# the traffic: pings every 100 ms, and the transfer
	ip netns exec "${P}a" ping -n -i 0.1 -c $((CHAOS_SECONDS * 10 + 300)) \
	    -W 1 "$B_TAP" > ping.out 2>&1 &
	echo $! > ping.pid
	record_helper $! ping
	ip netns exec "${P}b" timeout 170 "$XFER" recv -s "$CHAOS_SEED" \
	    -t 160 "$B_TAP" 5002 "$bytes" 2> xfer-recv.err |
	    sha256sum > xfer-recv.sum &
	record_helper $! timeout
	_listening() {
		grep -qs listening xfer-recv.err
	}
	topo_wait 10 _listening || ch_fail "xfer does not listen at site B"
	ip netns exec "${P}a" timeout 170 "$XFER" send -s "$CHAOS_SEED" \
	    -c 30 -r "$CHAOS_RATE" -t 150 "$B_TAP" 5002 "$bytes" \
	    2> xfer-send.err &
	echo $! > xfer.pid
	record_helper $! timeout

	t0=$(now_ms)
	run_schedule schedule.txt
	echo "chaos over after $(($(now_ms) - t0)) ms" >&2
	# the throttled link ran full: tbf held packets back
	tbf=$(awk '/^ Sent/ { print $2, $4, $7, $9 }' tbf-1.txt 2>/dev/null |
	    tr -d ',)')
	echo "tbf on ISP 1 towards site B: bytes, packets, dropped," \
	    "overlimits: ${tbf:-none}" >&2
	# in balance mode the throttled pipe's share shrinks to what it
	# carries, so it need not run full; it must have carried some
	if [ "$1" = balance ]; then
		[ "$(echo "$tbf" | awk '{ print $1 + 0 }')" -gt 0 ] ||
		    ch_fail "the throttled link carried nothing: $tbf"
	else
		[ "$(echo "$tbf" | awk '{ print $4 + 0 }')" -gt 0 ] ||
		    ch_fail "the link throttled by tbf never ran full: $tbf"
	fi

	# every process killed was restarted, its pipe is up again
	topo_wait 30 all_up || ch_fail "not every pipe is up 30 s after" \
	    "the chaos: $(states)"
	for s in a b; do
		for u in isp1 isp2; do
			[ -s "killed-$s-$u" ] || ch_fail "the process of $u at" \
			    "site $s was never killed"
			old=$(cat "killed-$s-$u")
			new=$(kid_pid "$s" "marconid: pipe $u")
			[ -n "$new" ] && [ "$new" != "$old" ] ||
			    ch_fail "site $s has no new process for $u"
			echo "$new" >> children.pids
			r=$(jpipe "$s" "$u" .restarts)
			[ "${r:-0}" -ge 1 ] || ch_fail "site $s says its process" \
			    "of $u was restarted ${r:-0} times"
		done
	done

	# the transfer ends, intact
	topo_wait 90 eval "! topo_alive $(cat xfer.pid)" ||
	    ch_fail "the transfer did not end 90 s after the chaos:" \
	    "$(tail -n 3 xfer-send.err xfer-recv.err)"
	sleep 1
	want=$("$XFER" gen -s "$CHAOS_SEED" "$bytes" | sha256sum)
	got=$(cat xfer-recv.sum)
	echo "transfer: $(grep -c 'from offset' xfer-recv.err) connections;" \
	    "$(tail -n 1 xfer-send.err); $(tail -n 1 xfer-recv.err)" >&2
	echo "transfer: sha256 sent ${want%% *}, received ${got%% *}" >&2
	[ "$want" = "$got" ] || ch_fail "what arrived is not what was sent:" \
	    "$(cat xfer-send.err xfer-recv.err)"

	# the tunnel works, both ways
	topo_ping "${P}a" "$B_TAP" 5 || ch_fail "$B_TAP does not answer"
	topo_ping "${P}b" 198.19.0.1 5 || ch_fail "198.19.0.1 does not answer"
	kill -INT "$(cat ping.pid)" 2>/dev/null
	topo_wait 5 eval "! topo_alive $(cat ping.pid)" || true
	tx=$(awk '/packets transmitted/ { print $1 }' ping.out)
	rx=$(awk '/packets transmitted/ { print $4 }' ping.out)
	dups=$(grep -c 'DUP!' ping.out)
	echo "pings: $rx of $tx answered, $dups duplicates" >&2
	[ "${tx:-0}" -gt 0 ] || ch_fail "ping sent nothing: $(cat ping.out)"
	[ "$dups" -eq 0 ] || ch_fail "$dups pings came back twice"
	[ $((rx * 100)) -ge $((tx * 70)) ] ||
	    ch_fail "only $rx of $tx pings answered through the chaos"

	# no descriptor leaked: the same processes (the restarted ones
	# compared with their first incarnation) hold as many as before
	_same_fds() {
		fd_table fds-after.txt
		awk '{ print $1, $2, $4 }' fds-before.txt > fds-b.txt
		awk '{ print $1, $2, $4 }' fds-after.txt > fds-a.txt
		cmp -s fds-b.txt fds-a.txt
	}
	if ! topo_wait 15 _same_fds; then
		while read -r _s _n _pid _fds; do
			echo "$_s $_n $_pid $(fd_kinds "$_pid")" >> kinds-after.txt
		done < fds-after.txt
		ch_fail "descriptors before and after the chaos differ:" \
		    "before $(tr '\n' ';' < fds-before.txt) after" \
		    "$(tr '\n' ';' < fds-after.txt); by kind before:" \
		    "$(cat kinds-before.txt) after: $(cat kinds-after.txt)"
	fi
	echo "descriptors (site process pid count), before:" \
	    "$(tr '\n' ';' < fds-before.txt) after:" \
	    "$(tr '\n' ';' < fds-after.txt)" >&2
	for s in a b; do
		[ "$(awk -v s="$s" '$1 == s && $2 == "parent" { print $3 }' \
		    fds-after.txt)" = "$(cat "$s.pid")" ] ||
		    ch_fail "site $s has another parent"
		[ "$(awk -v s="$s" '$1 == s && $2 == "engine" { print $3 }' \
		    fds-before.txt)" = "$(awk -v s="$s" \
		    '$1 == s && $2 == "engine" { print $3 }' fds-after.txt)" ] ||
		    ch_fail "site $s's engine was restarted"
	done
}
chaos_cleanup() {
	ch_cleanup
}

# every pipe of every site is up
every_up() {
	for _s in $SITES; do
		ctl "$_s" -j show pipes 2>/dev/null | jq -e '(.pipes | length)
		    > 0 and ([.pipes[] | select(.state != "up")] | length)
		    == 0' >/dev/null 2>&1 || return 1
	done
	return 0
}

# The schedule of chaos3, as schedule() does for two sites: "kill SITE
# UPLINK" for each of the six uplink processes, about every 6 s, and
# "cut SITE N" / "restore SITE N" of one site's line to ISP N for 0.5
# to 3 s, with gaps of up to 1.5 s, a cut sometimes beginning up to
# 0.5 s before the one before it ends.
schedule3() {
	awk -v seed="$CHAOS_SEED" -v len=$((CHAOS_SECONDS * 1000)) '
	    function rnd() {
		x = (x * 16807) % 2147483647
		return (x / 2147483647)
	    }
	    BEGIN {
		x = seed % 2147483646 + 1
		n = split("a isp1,a isp2,b isp1,b isp2,c isp1,c isp2", who,
		    ",")
		for (i = n; i > 1; i--) {
			j = int(rnd() * i) + 1
			t = who[i]; who[i] = who[j]; who[j] = t
		}
		for (i = 1; i <= n; i++) {
			t = 3000 + (i - 1) * 6000 + int(rnd() * 2000)
			printf "%d kill %s\n", t, who[i]
		}
		split("a b c", site, " ")
		t = 1000 + int(rnd() * 1000)
		while (t < len - 5000) {
			s = site[1 + int(rnd() * 3)]
			isp = 1 + int(rnd() * 2)
			d = 500 + int(rnd() * 2500)
			printf "%d cut %s %d\n", t, s, isp
			printf "%d restore %s %d\n", t + d, s, isp
			if (rnd() < 0.2)
				t += d - int(rnd() * 500)
			else
				t += d + int(rnd() * 1500)
		}
	    }' | sort -n -k 1,1
}

# run_schedule3 FILE: as run_schedule, on mesh.sh's lines
run_schedule3() {
	_t0=$(now_ms)
	_n=0
	while read -r _ms _what _a1 _a2; do
		_n=$((_n + 1))
		[ "$_n" -le 200 ] || break
		_wait=$((_t0 + _ms - $(now_ms)))
		if [ "$_wait" -gt 0 ]; then
			sleep "$(awk -v w="$_wait" 'BEGIN { printf "%.3f", w / 1000 }')"
		fi
		case "$_what" in
		kill)
			_pid=$(kid_pid "$_a1" "marconid: pipe $_a2")
			if [ -z "$_pid" ]; then
				echo "$_ms kill $_a1 $_a2: no such process" \
				    >> chaos.log
				continue
			fi
			kill -KILL "$_pid"
			echo "$_pid" >> "killed-$_a1-$_a2"
			;;
		cut)
			mesh_cut "$P" "$_a1" "$_a2" ||
			    ch_fail "cannot cut site $_a1's ISP $_a2"
			;;
		restore)
			mesh_restore "$P" "$_a1" "$_a2" ||
			    ch_fail "cannot restore site $_a1's ISP $_a2"
			;;
		esac
		echo "$(($(now_ms) - _t0)) $_what $_a1 $_a2" \
		    "(planned at $_ms)" >> chaos.log
	done < "$1"
	_rest=$((_t0 + CHAOS_SECONDS * 1000 - $(now_ms)))
	if [ "$_rest" -gt 0 ]; then
		sleep "$(awk -v w="$_rest" 'BEGIN { printf "%.3f", w / 1000 }')"
	fi
	for _s in $SITES; do
		for _i in 1 2; do
			mesh_restore "$P" "$_s" "$_i"
		done
	done
}

atf_test_case chaos3 cleanup
chaos3_head() {
	atf_set descr "Three sites, a hub and two spokes: uplink processes" \
	    "killed and lines cut for 40 s during a transfer from spoke to" \
	    "spoke; afterwards every pipe is up and every byte arrived" \
	    "once and intact"
	atf_set require.user root
	atf_set timeout 180
	atf_set require.progs "ip nft openssl ping ps jq awk sha256sum date"
}
chaos3_body() {
	echo "a b c" > sites
	ch_init
	CHAOS_SECONDS=40
	CHAOS_RATE=${CHAOS_RATE3:-1000000}
	C_TAP=198.19.0.3
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$XFER" ] || atf_fail "$XFER is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	bytes=$((CHAOS_RATE * 30))
	echo "chaos3: seed $CHAOS_SEED, $CHAOS_SECONDS s, a transfer of" \
	    "$bytes bytes at $CHAOS_RATE bytes a second from B to C" \
	    "through the hub A" >&2

	mesh_create "$P" "$SITES" || atf_fail "cannot build the mesh"
	for s in $SITES; do
		site_identity "$PWD" "site-$s" ||
		    atf_fail "cannot make the identity of site $s"
	done
	mesh_conf a a.conf "$PWD" b c || atf_fail "cannot write a.conf"
	echo "relay yes" >> a.conf
	mesh_conf b b.conf "$PWD" a || atf_fail "cannot write b.conf"
	mesh_conf c c.conf "$PWD" a || atf_fail "cannot write c.conf"
	for s in $SITES; do
		echo "probe interval 100ms timeout 300ms" >> "$s.conf"
		ip netns exec "$P$s" "$MARCONID" -dv -f "$PWD/$s.conf" \
		    -s "$PWD/$s.sock" > "$s.log" 2>&1 &
		echo $! > "$s.pid"
		topo_wait 15 ctl_answers_or_dead "$s" || true
		ctl_answers "$s" || ch_fail "marconid of site $s does not answer"
		ps -o pid= --ppid "$(cat "$s.pid")" >> children.pids
	done
	topo_wait 30 every_up || ch_fail "not every pipe is up within 30 s"
	topo_ping "${P}b" "$C_TAP" 10 || ch_fail "B does not reach C"
	for s in $SITES; do
		kid_pid "$s" "marconid: engine" > "engine-$s"
		[ -s "engine-$s" ] || ch_fail "site $s has no engine"
	done

	schedule3 > schedule.txt
	echo "the schedule: $(tr '\n' ';' < schedule.txt)" >&2
	ip netns exec "${P}b" ping -n -i 0.1 -c $((CHAOS_SECONDS * 10 + 200)) \
	    -W 1 "$C_TAP" > ping.out 2>&1 &
	echo $! > ping.pid
	record_helper $! ping
	ip netns exec "${P}c" timeout 120 "$XFER" recv -s "$CHAOS_SEED" \
	    -t 110 "$C_TAP" 5002 "$bytes" 2> xfer-recv.err |
	    sha256sum > xfer-recv.sum &
	record_helper $! timeout
	_listening() {
		grep -qs listening xfer-recv.err
	}
	topo_wait 10 _listening || ch_fail "xfer does not listen at site C"
	ip netns exec "${P}b" timeout 120 "$XFER" send -s "$CHAOS_SEED" \
	    -c 30 -r "$CHAOS_RATE" -t 100 "$C_TAP" 5002 "$bytes" \
	    2> xfer-send.err &
	echo $! > xfer.pid
	record_helper $! timeout

	t0=$(now_ms)
	run_schedule3 schedule.txt
	echo "chaos over after $(($(now_ms) - t0)) ms" >&2

	topo_wait 30 every_up ||
	    ch_fail "not every pipe is up 30 s after the chaos"
	for s in $SITES; do
		for u in isp1 isp2; do
			[ -s "killed-$s-$u" ] || ch_fail "the process of $u at" \
			    "site $s was never killed"
			new=$(kid_pid "$s" "marconid: pipe $u")
			[ -n "$new" ] && [ "$new" != "$(cat "killed-$s-$u")" ] ||
			    ch_fail "site $s has no new process for $u"
			echo "$new" >> children.pids
		done
	done

	topo_wait 60 eval "! topo_alive $(cat xfer.pid)" ||
	    ch_fail "the transfer did not end 60 s after the chaos:" \
	    "$(tail -n 3 xfer-send.err xfer-recv.err)"
	sleep 1
	want=$("$XFER" gen -s "$CHAOS_SEED" "$bytes" | sha256sum)
	got=$(cat xfer-recv.sum)
	echo "transfer: $(grep -c 'from offset' xfer-recv.err) connections;" \
	    "$(tail -n 1 xfer-send.err); $(tail -n 1 xfer-recv.err)" >&2
	echo "transfer: sha256 sent ${want%% *}, received ${got%% *}" >&2
	[ "$want" = "$got" ] || ch_fail "what arrived is not what was sent:" \
	    "$(cat xfer-send.err xfer-recv.err)"

	topo_ping "${P}b" "$C_TAP" 5 || ch_fail "$C_TAP does not answer"
	topo_ping "${P}c" 198.19.0.2 5 || ch_fail "198.19.0.2 does not answer"
	kill -INT "$(cat ping.pid)" 2>/dev/null
	topo_wait 5 eval "! topo_alive $(cat ping.pid)" || true
	tx=$(awk '/packets transmitted/ { print $1 }' ping.out)
	rx=$(awk '/packets transmitted/ { print $4 }' ping.out)
	dups=$(grep -c 'DUP!' ping.out)
	echo "pings B to C: $rx of $tx answered, $dups duplicates" >&2
	[ "${tx:-0}" -gt 0 ] || ch_fail "ping sent nothing: $(cat ping.out)"
	[ "$dups" -eq 0 ] || ch_fail "$dups pings came back twice"
	[ $((rx * 100)) -ge $((tx * 60)) ] ||
	    ch_fail "only $rx of $tx pings answered through the chaos"
	# the engines, which hold the MAC tables, never went
	for s in $SITES; do
		[ "$(kid_pid "$s" "marconid: engine")" = "$(cat "engine-$s")" ] ||
		    ch_fail "site $s's engine was restarted"
	done
}
chaos3_cleanup() {
	ch_cleanup
}

atf_test_case chaos_balance cleanup
chaos_balance_head() {
	atf_set descr "The same chaos for 30 s in balance mode: frames spread" \
	    "over pipes that die, are cut and throttled, put back in order;" \
	    "every byte arrives once and intact"
	atf_set require.user root
	atf_set timeout 150
	atf_set require.progs "ip nft tc openssl ping ps jq awk sha256sum date"
}
chaos_balance_body() {
	ch_init
	CHAOS_SECONDS=30
	chaos_run balance
	for s in a b; do
		[ "$(ctl "$s" -j show peers | jq -r '.peers[0].mode')" = \
		    balance ] || ch_fail "site $s's peer is not in balance mode"
	done
	echo "site B's reorder figures: $(ctl b -j show peers |
	    jq -c '.peers[0].reorder')" >&2
}
chaos_balance_cleanup() {
	ch_cleanup
}

atf_init_test_cases() {
	atf_add_test_case chaos
	atf_add_test_case chaos3
	atf_add_test_case chaos_balance
}
