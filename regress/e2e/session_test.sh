#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by within and topo_wait
#
# End-to-end tests of the TLS sessions and data keys of an uplink
# process, over ISP 1 only (site_conf1 of topology.sh), with site A's
# pipe passive (it waits for site B to connect, so B is the initiator
# and A the responder of every session):
#
#	reload_sni		connections parked on A's TCP port before a
#				reload of A send their ClientHello, with a
#				server name, after it: no uplink process
#				dies (libtls reads the server context in
#				its server name callback)
#	fingerprint_change	A reloads with another fingerprint for B:
#				A's pipe goes down and stays down
#	responder_rekey		A sends a one-way stream to B with rekey
#				packets set low at both sites: A, the
#				responder, has its key replaced by count
#	key_only_in_parent	the site key's secret is in each parent's
#				memory (/proc/PID/mem) and in no child's;
#				A presents a leaf its pinned certificate
#				signed, and another after a reload, which
#				keeps the sessions up; a reload with a key
#				not the certificate's fails whole
#	leaf_renewal		a test build renews A's leaf every 2 s: new
#				leaves, the session kept
#
# Every test case records the PIDs of what it starts; its cleanup ends
# those processes, by PID only, and removes the namespaces, whatever the
# body did.  Every loop is bounded in count and in time.

# ---------------------------------------------------------------------
# helpers

st_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	FLOOD=$SRCDIR/flood
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	# shellcheck source=common.sh
	. "$SRCDIR/common.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=ms$$
		echo "$P" > prefix
	fi
	A_UPLINK=198.18.1.2
	B_TAP=198.19.0.2
	# slow probes: the datagrams counted are those of the test
	PROBES="probe interval 1s timeout 3s"
}

st_head() {
	atf_set require.user root
	atf_set timeout "${1:-180}"
	atf_set require.progs "ip nft openssl jq awk date nc ss od timeout mkfifo"
}

st_fail() {
	for s in a b; do
		if [ -S "$s.sock" ]; then
			echo "--- site $s: show pipes" >&2
			ctl "$s" show pipes >&2 2>&1
		fi
		if [ -s "$s.log" ]; then
			echo "--- site $s: the last lines of its log" >&2
			tail -n 40 "$s.log" >&2
		fi
	done
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

reload() {
	ctl "$1" reload > "reload-$1.out" 2>&1 ||
	    st_fail "marconictl reload at site $1 exited $?:" \
	    "$(cat "reload-$1.out")"
}

state_of() {
	_st=$(jpipe "$1" isp1 .state)
	echo "${_st:-none}"
}

is_up() {
	[ "$(state_of "$1")" = up ]
}

both_up() {
	is_up a && is_up b
}

not_up() {
	_st=$(state_of "$1")
	[ "$_st" != up ] && [ "$_st" != none ]
}

rekeys_of() {
	_r=$(jpipe "$1" isp1 .rekeys)
	echo "${_r:-0}"
}

# rekeys_at_least SITE N
rekeys_at_least() {
	[ "$(rekeys_of "$1")" -ge "$2" ]
}

# the children of site $1's daemon, as PIDs, one a line, sorted
children_of() {
	ps -o pid= --ppid "$(cat "$1.pid")" 2>/dev/null | tr -d ' ' | sort -n
}

record_children() {
	children_of "$1" >> children.pids
}

st_cleanup() {
	st_init
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
	topo_destroy "$P"
}

# make_sites [GLOBAL]: the topology, identities, a.conf (passive) and
# b.conf, each with the global option GLOBAL when one is given
make_sites() {
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	topo_create "$P" || atf_fail "cannot build the topology"
	for n in site-a site-b site-c; do
		site_identity "$PWD" "$n" ||
		    atf_fail "cannot make the identity of $n"
	done
	FPR_A=$(site_fingerprint site-a.crt) || atf_fail "no fingerprint"
	FPR_B=$(site_fingerprint site-b.crt) || atf_fail "no fingerprint"
	FPR_C=$(site_fingerprint site-c.crt) || atf_fail "no fingerprint"
	write_conf a "$FPR_B" "$@"
	write_conf b "$FPR_A" "$@"
}

# write_conf SITE PEER_FPR [GLOBAL...]: checked with marconid -n
write_conf() {
	_s=$1
	_fpr=$2
	shift 2
	_remote=
	[ "$_s" = a ] && _remote=-
	site_conf1 "$_s" "$PWD/$_s.conf" "$PWD/site-$_s.crt" \
	    "$PWD/site-$_s.key" "$_fpr" $_remote ||
	    atf_fail "cannot write $_s.conf"
	site_conf_global "$_s.conf" "$PROBES" ||
	    atf_fail "cannot edit $_s.conf"
	for _o in "$@"; do
		site_conf_global "$_s.conf" "$_o" ||
		    atf_fail "cannot edit $_s.conf"
	done
	"$MARCONID" -n -f "$PWD/$_s.conf" > "$_s.check" 2>&1 ||
	    st_fail "marconid -n refuses $_s.conf: $(cat "$_s.check")"
}

start_site() {
	ip netns exec "$P$1" "$MARCONID" -dv -f "$PWD/$1.conf" \
	    -s "$PWD/$1.sock" > "$1.log" 2>&1 &
	echo $! > "$1.pid"
	topo_wait 15 ctl_answers_or_dead "$1" || true
	topo_alive "$(cat "$1.pid")" ||
	    st_fail "marconid of site $1 exited at startup"
	ctl_answers "$1" ||
	    st_fail "no answer on site $1's control socket in 15 s"
	record_children "$1"
}

start_sites() {
	start_site a
	start_site b
	topo_wait 20 both_up ||
	    st_fail "the pipes are not up within 20 s: a $(state_of a)," \
	    "b $(state_of b)"
	grep -q "session up as responder" a.log ||
	    st_fail "site A is not the responder of the session"
}

# no child of site S died (the parent logs how one ended)
none_died() {
	! grep -E "terminated by signal|exited with status" "$1.log" \
	    >/dev/null 2>&1
}

# ---------------------------------------------------------------------

atf_test_case reload_sni cleanup
reload_sni_head() {
	atf_set descr "Three connections parked on site A's TCP port" \
	    "across a reload with a new certificate, then a ClientHello" \
	    "with a server name on each: no uplink process dies"
	st_head 180
}
reload_sni_body() {
	st_init
	make_sites
	start_sites
	kids_before=$(children_of a | tr '\n' ' ')

	# a ClientHello with a server name, as openssl sends it, caught
	# by a listener in site B's namespace
	ip netns exec "${P}b" nc -l 127.0.0.1 9999 > hello.bin &
	record_helper $! nc
	topo_wait 5 ip netns exec "${P}b" sh -c \
	    'ss -ltn 2>/dev/null | grep -q 127.0.0.1:9999' || true
	ip netns exec "${P}b" timeout 3 openssl s_client -tls1_3 \
	    -connect 127.0.0.1:9999 -servername site-a.example \
	    < /dev/null > /dev/null 2>&1
	topo_wait 5 test -s hello.bin ||
	    st_fail "no ClientHello caught from openssl s_client"
	# a handshake record (22) whose message is a ClientHello (1)
	if [ "$(od -An -tu1 -N1 hello.bin | tr -d ' ')" != 22 ] ||
	    [ "$(od -An -tu1 -j5 -N1 hello.bin | tr -d ' ')" != 1 ]; then
		st_fail "what openssl sent is no ClientHello"
	fi
	grep -q site-a.example hello.bin ||
	    st_fail "the ClientHello carries no server name"

	# three callers from site B, connected and silent: each nc waits
	# on its FIFO, which the shell holds open until after the reload
	for i in 1 2 3; do
		mkfifo "park$i"
		ip netns exec "${P}b" nc -w 20 "$A_UPLINK" 7455 \
		    < "park$i" > "park$i.out" 2>/dev/null &
		record_helper $! nc
	done
	exec 3> park1 4> park2 5> park3
	sleep 2

	# a reload with a new certificate and key: a new server context
	site_identity "$PWD" site-a2 || atf_fail "no new identity"
	cp site-a2.crt site-a.crt
	cp site-a2.key site-a.key
	reload a
	sleep 2

	cat hello.bin >&3
	cat hello.bin >&4
	cat hello.bin >&5
	sleep 3
	exec 3>&- 4>&- 5>&-

	topo_alive "$(cat a.pid)" || st_fail "marconid of site A died"
	none_died a || st_fail "a process of site A died:" \
	    "$(grep -E 'terminated by signal|exited with status' a.log)"
	kids_after=$(children_of a | tr '\n' ' ')
	[ "$kids_before" = "$kids_after" ] ||
	    st_fail "site A's processes were $kids_before, now $kids_after"
	# the parked callers got an answer from the TLS stack (a server
	# hello or an alert), not a dead socket
	for i in 1 2 3; do
		[ -s "park$i.out" ] || st_fail "caller $i got no answer"
	done
	echo "site A's processes before and after: $kids_after" >&2
}
reload_sni_cleanup() {
	st_cleanup
}

atf_test_case fingerprint_change cleanup
fingerprint_change_head() {
	atf_set descr "Site A (passive) reloads with another fingerprint" \
	    "for site B: its pipe goes down within 5 s and stays down"
	st_head 120
}
fingerprint_change_body() {
	st_init
	make_sites
	start_sites

	write_conf a "$FPR_C"
	reload a
	topo_wait "$((5 * ${MARCONID_TIME_FACTOR:-1}))" not_up a ||
	    st_fail "site A's pipe is $(state_of a) 5 s after the" \
	    "fingerprint of its peer changed"
	# B keeps trying and A refuses it: never up again
	k=0
	while [ "$k" -lt 30 ]; do
		is_up a && st_fail "site A's pipe came up again with a peer" \
		    "whose fingerprint it no longer trusts"
		sleep 0.2
		k=$((k + 1))
	done
	grep -q "matches no configured fingerprint" a.log ||
	    st_fail "site A did not refuse site B's certificate"
	echo "site A's pipe: $(state_of a) after the change" >&2
}
fingerprint_change_cleanup() {
	st_cleanup
}

atf_test_case responder_rekey cleanup
responder_rekey_head() {
	atf_set descr "With rekey packets 1000, 6000 datagrams from the" \
	    "responder (site A) to site B and nearly none back: A's" \
	    "sending key is replaced at least 3 times within 20 s"
	st_head 120
}
responder_rekey_body() {
	st_init
	[ -x "$FLOOD" ] || atf_fail "$FLOOD is not built"
	make_sites "rekey packets 1000"
	start_sites
	r0=$(rekeys_of a)

	# one way, through the tap: UDP to a port where nothing listens
	# (B's ICMP answers are rate-limited by its kernel)
	ip netns exec "${P}a" "$FLOOD" udp -r 1000 -m 6000 -d 15 \
	    "$B_TAP" 9 > flood.out 2>&1 &
	record_helper $! flood
	topo_wait "$((20 * ${MARCONID_TIME_FACTOR:-1}))" \
	    rekeys_at_least a $((r0 + 3)) ||
	    st_fail "site A (responder) counts $(rekeys_of a) rekeys," \
	    "was $r0, after 6000 datagrams with rekey packets 1000"
	echo "rekeys at site A: $r0 -> $(rekeys_of a)," \
	    "at site B: $(rekeys_of b)" >&2
}
responder_rekey_cleanup() {
	st_cleanup
}

atf_test_case key_only_in_parent cleanup
key_only_in_parent_head() {
	atf_set descr "With sessions up at both sites, the secret scalar" \
	    "and the PEM text of each site's key are in the memory of" \
	    "its parent and of none of its children; each site presents a" \
	    "leaf issued by its pinned certificate, whose fingerprint did" \
	    "not change, and a new leaf after a reload, sessions kept; a" \
	    "reload with a key not the certificate's fails whole"
	atf_set require.user root
	atf_set timeout 180
	atf_set require.progs "ip nft openssl jq awk python3 timeout"
}
# key_patterns KEY CONTROL: "NAME HEX" lines for memgrep: the key's
# secret scalar in big-endian (its DER, the PEM decoded) and
# little-endian order (libcrypto's BIGNUM words on this machine), each
# line of its PEM text, and CONTROL, a string every child holds
key_patterns() {
	python3 - "$1" "$2" <<'PYEOF'
import re
import subprocess
import sys

key, control = sys.argv[1], sys.argv[2]
text = subprocess.run(["openssl", "pkey", "-in", key, "-text", "-noout"],
                      capture_output=True, text=True, check=True).stdout
m = re.search(r"priv:\s*\n((?:[ \t]+[0-9a-f:]+\n)+)", text)
if m is None:
    sys.exit("no private scalar in the openssl output of " + key)
b = bytes.fromhex(re.sub(r"[^0-9a-f]", "", m.group(1)))
b = b.lstrip(b"\0").rjust(32, b"\0")
print("scalar-be", b.hex())
print("scalar-le", b[::-1].hex())
with open(key) as f:
    lines = [x for x in f.read().splitlines() if not x.startswith("-----")]
for i, line in enumerate(lines):
    if len(line) >= 32:
        print("pem-line%d" % i, line.encode().hex())
print("control", control.encode().hex())
PYEOF
}
key_only_in_parent_body() {
	st_init
	# AddressSanitizer maps terabytes of shadow and keeps the heap in a
	# region of its own: no bounded read of the memory can cover it
	if grep -q __asan_init "$MARCONID"; then
		atf_skip "a build with AddressSanitizer: its memory cannot" \
		    "be read whole"
	fi
	make_sites
	start_sites

	for s in a b; do
		[ "$s" = a ] && ctrl=$FPR_B || ctrl=$FPR_A
		key_patterns "site-$s.key" "$ctrl" > "pat-$s" ||
		    st_fail "cannot read the secret of site-$s.key"
		ppid=$(cat "$s.pid")
		timeout 60 "$SRCDIR/memgrep" "pat-$s" "$ppid" \
		    > "mem-$s-parent" 2> "memerr-$s-parent" ||
		    st_fail "cannot read the memory of site $s's parent:" \
		    "$(cat "memerr-$s-parent")"
		grep -Eq '^(scalar|pem)' "mem-$s-parent" ||
		    st_fail "the key of site $s is not in its parent's" \
		    "memory, so this test cannot see it:" \
		    "$(cat "mem-$s-parent" "memerr-$s-parent")"
		echo "site $s, parent $ppid holds:" \
		    "$(tr '\n' ' ' < "mem-$s-parent")" >&2
		n=0
		for pid in $(children_of "$s"); do
			title=$(tr '\0' ' ' < "/proc/$pid/cmdline")
			timeout 60 "$SRCDIR/memgrep" "pat-$s" "$pid" \
			    > "mem-$s-$pid" 2> "memerr-$s-$pid" ||
			    st_fail "cannot read the memory of $title ($pid):" \
			    "$(cat "memerr-$s-$pid")"
			# the scan sees what the child holds
			grep -q '^control$' "mem-$s-$pid" ||
			    st_fail "$title ($pid): the peer's fingerprint" \
			    "is not in its memory either: the scan is blind"
			if grep -Eq '^(scalar|pem)' "mem-$s-$pid"; then
				st_fail "site $s: $title ($pid) holds the site" \
				    "key: $(grep -E '^(scalar|pem)' \
				    "mem-$s-$pid" | tr '\n' ' ')"
			fi
			echo "site $s, $title ($pid): no key" >&2
			n=$((n + 1))
		done
		# the engine and the pipe of isp1
		[ "$n" -ge 2 ] || st_fail "site $s has $n children, not 2"
	done

	# what site A presents: a leaf, issued by its site certificate,
	# whose fingerprint is the one site B pins, unchanged
	presented_by_a 1
	leaf1=$leaf_fpr
	grep -q "fingerprint \"$FPR_A\"" b.conf ||
	    st_fail "b.conf does not pin $FPR_A"

	# a reload brings a new leaf; the sessions up stay up
	up_since=$(jpipe a isp1 .last_change_sec)
	reload a
	# the commit may still be on its way to the pipe: a few tries
	k=0
	while [ "$k" -lt 10 ]; do
		presented_by_a "2-$k"
		[ "$leaf_fpr" != "$leaf1" ] && break
		sleep 0.3
		k=$((k + 1))
	done
	[ "$leaf_fpr" != "$leaf1" ] ||
	    st_fail "site A presents the same leaf after a reload"
	both_up || st_fail "the sessions went down"
	[ "$(jpipe a isp1 .last_change_sec)" -ge "${up_since:-0}" ] ||
	    st_fail "site A's pipe changed state at the reload"
	leaf2=$leaf_fpr

	# a key that is not the certificate's fails the reload whole
	sed "s|site-a\.key|site-c.key|" a.conf > a.conf.new &&
	    cat a.conf.new > a.conf && rm -f a.conf.new
	grep -q "site-c\.key" a.conf || st_fail "cannot edit a.conf"
	if ctl a reload > reload-bad.out 2>&1; then
		st_fail "a reload with site C's key for A's certificate" \
		    "succeeded: $(cat reload-bad.out)"
	fi
	grep -q "cannot be loaded, not reloading" reload-bad.out ||
	    st_fail "the reload did not say why: $(cat reload-bad.out)"
	grep -q "site-c\.key: the key is not the certificate's" a.log ||
	    st_fail "site A's log does not name the key that does not fit"
	presented_by_a 3
	[ "$leaf_fpr" = "$leaf2" ] ||
	    st_fail "site A changed its leaf on a failed reload"
	both_up || st_fail "the sessions went down"
}
# presented_by_a N: the chain site A's pipe shows a caller, as
# presented-N-1.pem (the leaf) and presented-N-2.pem; sets leaf_fpr
presented_by_a() {
	ip netns exec "${P}b" timeout 10 openssl s_client -tls1_3 \
	    -connect "$A_UPLINK:7455" -showcerts < /dev/null \
	    > "presented-$1" 2>&1 || true
	awk -v p="presented-$1" '/BEGIN CERT/ { n++; on = 1 }
	    on { print > (p "-" n ".pem") }
	    /END CERT/ { on = 0 }' "presented-$1"
	[ -s "presented-$1-1.pem" ] && [ -s "presented-$1-2.pem" ] ||
	    st_fail "site A presented no chain of two:" \
	    "$(head -c 300 "presented-$1")"
	leaf_fpr=$(site_fingerprint "presented-$1-1.pem")
	issuer_fpr=$(site_fingerprint "presented-$1-2.pem")
	[ "$issuer_fpr" = "$FPR_A" ] ||
	    st_fail "site A's chain ends in $issuer_fpr, not its site" \
	    "certificate $FPR_A"
	[ "$leaf_fpr" != "$FPR_A" ] ||
	    st_fail "site A presents its site certificate itself"
	openssl verify -partial_chain -CAfile "presented-$1-2.pem" \
	    "presented-$1-1.pem" > verify.out 2>&1 ||
	    st_fail "site A's leaf is not signed by its site certificate:" \
	    "$(cat verify.out)"
}
key_only_in_parent_cleanup() {
	st_cleanup
}

atf_test_case leaf_renewal cleanup
leaf_renewal_head() {
	atf_set descr "Site A's parent issues its pipe a new leaf every" \
	    "2 s (a test build's renewal period): each is signed by A's" \
	    "pinned certificate, and the session up is kept across them"
	atf_set require.user root
	atf_set timeout 120
	atf_set require.progs "ip nft openssl jq awk timeout"
}
leaf_renewal_body() {
	st_init
	[ -x "$SRCDIR/marconid-test" ] ||
	    atf_fail "$SRCDIR/marconid-test is not built"
	MARCONID=$SRCDIR/marconid-test
	make_sites
	MARCONID_TEST_LEAF_RENEW=2
	export MARCONID_TEST_LEAF_RENEW
	start_site a
	unset MARCONID_TEST_LEAF_RENEW
	start_site b
	topo_wait 20 both_up ||
	    st_fail "the pipes are not up within 20 s: a $(state_of a)," \
	    "b $(state_of b)"
	ups=$(grep -c "session up" a.log)
	presented_by_a 1
	seen=$leaf_fpr
	n=0
	k=0
	# three new leaves in at most 12 s
	while [ "$n" -lt 3 ] && [ "$k" -lt 40 ]; do
		sleep 0.3
		presented_by_a "r$k"
		case " $seen " in
		*" $leaf_fpr "*) ;;
		*)	seen="$seen $leaf_fpr"
			n=$((n + 1)) ;;
		esac
		k=$((k + 1))
	done
	[ "$n" -ge 3 ] ||
	    st_fail "site A presented $n new leaves in $k tries, not 3"
	both_up || st_fail "the sessions went down"
	[ "$(grep -c "session up" a.log)" -eq "$ups" ] ||
	    st_fail "site A's session was opened again: $(grep "session" \
	    a.log | tail -n 5)"
	echo "leaves seen: $seen" >&2
}
leaf_renewal_cleanup() {
	st_cleanup
}

atf_init_test_cases() {
	atf_add_test_case reload_sni
	atf_add_test_case fingerprint_change
	atf_add_test_case responder_rekey
	atf_add_test_case key_only_in_parent
	atf_add_test_case leaf_renewal
}
