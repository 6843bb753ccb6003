#!/usr/bin/env atf-sh
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2317 # functions run by topo_wait
#
# End-to-end tests of the control sockets: site A of the two-site
# topology (topology.sh) with its own marconid; site B is not started,
# its pipe only waits, except for show metrics, which wants a pipe up.
# A client written here in Python speaks the control protocol
# (common/ctl.h) without marconictl, to do what marconictl never does:
# ask without reading the answers.  The restricted socket is tried
# command by command against the main one, as root and as nobody;
# show metrics is read by the OpenMetrics parser of prometheus_client
# and checked against marconictl -j taken around it.
#
# Every test case records the PIDs of what it starts in its work
# directory; its cleanup ends those processes, by PID only, and removes
# the namespaces, whatever the body did.  Every wait is bounded.

# ---------------------------------------------------------------------
# helpers

ct_init() {
	SRCDIR=$(cd "$(atf_get_srcdir)" && pwd)
	TOP=$(cd "$SRCDIR/../.." && pwd)
	# absolute: the daemon re-executes itself for each child
	MARCONID=$TOP/marconid/marconid
	MARCONICTL=$TOP/marconictl/marconictl
	# shellcheck source=topology.sh
	. "$SRCDIR/topology.sh"
	if [ -s prefix ]; then
		P=$(cat prefix)
	else
		P=mct$$
		echo "$P" > prefix
	fi
	# the sockets: in the work directory, or in a directory others
	# may enter (sockdir) for the cases that run marconictl as nobody
	SOCKDIR=$PWD
	[ -s sockdir ] && SOCKDIR=$(cat sockdir)
	SOCK=$SOCKDIR/a.sock
	RSOCK=$SOCKDIR/a.rsock
}

# A directory for the sockets that nobody may enter, with a copy of
# marconictl: the work directory and the tree may be closed to others.
ct_sockdir() {
	_d=$(mktemp -d /tmp/marconid-ctl.XXXXXX) ||
	    atf_fail "cannot make a directory for the sockets"
	echo "$_d" > sockdir
	chmod 0755 "$_d" || atf_fail "cannot chmod $_d"
	if ! cp "$MARCONICTL" "$_d/marconictl" ||
	    ! chmod 0755 "$_d/marconictl"; then
		atf_fail "cannot copy marconictl to $_d"
	fi
	SOCKDIR=$_d
	SOCK=$SOCKDIR/a.sock
	RSOCK=$SOCKDIR/a.rsock
}

ct_head() {
	_timeout=${1:-120}
	[ $# -eq 0 ] || shift
	atf_set require.user root
	atf_set timeout "$_timeout"
	atf_set require.progs "ip openssl ps awk python3 $*"
}

ct_fail() {
	if [ -s a.log ]; then
		echo "--- site a: the last lines of its log" >&2
		tail -n 30 a.log >&2
	fi
	atf_fail "$(echo "$*" | tr -s '\n\t' '  ' | cut -c 1-400)"
}

ctl() {
	timeout 10 "$MARCONICTL" -s "$SOCK" "$@"
}

# the same on the restricted socket
rctl() {
	timeout 10 "$MARCONICTL" -s "$RSOCK" "$@"
}

ctl_answers() {
	timeout 10 "$MARCONICTL" -s "$SOCKDIR/${1:-a}.sock" show summary \
	    >/dev/null 2>&1
}

ctl_answers_or_dead() {
	ctl_answers "${1:-a}" || ! topo_alive "$(cat "${1:-a}.pid")"
}

record_helper() {
	echo "$1 $2" >> helpers.pids
}

is_prog() {
	topo_alive "$1" &&
	    tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

none_ours() {
	for pid in "$@"; do
		is_prog "$pid" marconid && return 1
	done
	return 0
}

signal_ours() {
	sig=$1
	shift
	for pid in "$@"; do
		is_prog "$pid" marconid && kill -s "$sig" "$pid" 2>/dev/null
	done
	return 0
}

# A title as setproctitle(3) leaves it on Linux (see privsep_test.sh).
untail() {
	sed -E -e 's/^ *//' -e 's/([[:space:]]+\.)?[[:space:]]*$//'
}

# the PID of site A's child titled $1
kid_pid() {
	ps -o pid=,args= --ppid "$(cat a.pid)" 2>/dev/null | untail |
	    awk -v t="$1" '{ pid = $1; sub(/^[0-9]+ /, "");
		if ($0 == t) print pid }'
}

rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# start_site SITE [RSOCK [OPTIONS]]: the marconid of site a or b over
# isp1 only, pinning the other site, its control socket in SOCKDIR, and
# a restricted socket RSOCK if given, with OPTIONS after "restricted".
# The topology and both identities are made by the first call.
start_site() {
	_site=$1
	case "$_site" in
	a)	_other=b ;;
	b)	_other=a ;;
	*)	atf_fail "start_site: site a or b, not $_site" ;;
	esac
	[ -x "$MARCONID" ] || atf_fail "$MARCONID is not built"
	[ -x "$MARCONICTL" ] || atf_fail "$MARCONICTL is not built"
	id -u _marconid >/dev/null 2>&1 ||
	    atf_fail "user _marconid is missing (scripts/add-user)"
	if [ ! -s site-b.crt ]; then
		topo_create "$P" || atf_fail "cannot build the topology"
		for n in site-a site-b; do
			site_identity "$PWD" "$n" ||
			    atf_fail "cannot make the identity of $n"
		done
	fi
	fpr=$(site_fingerprint "site-$_other.crt") ||
	    atf_fail "no fingerprint"
	site_conf1 "$_site" "$PWD/$_site.conf" "$PWD/site-$_site.crt" \
	    "$PWD/site-$_site.key" "$fpr" ||
	    atf_fail "cannot write $_site.conf"
	if [ -n "${2:-}" ]; then
		site_conf_global "$PWD/$_site.conf" \
		    "socket \"$2\" restricted ${3:-}" || atf_fail "cannot" \
		    "add the restricted socket to $_site.conf"
	fi

	ip netns exec "${P}$_site" "$MARCONID" -dv -f "$PWD/$_site.conf" \
	    -s "$SOCKDIR/$_site.sock" > "$_site.log" 2>&1 &
	echo $! > "$_site.pid"
	topo_wait 15 ctl_answers_or_dead "$_site" || true
	topo_alive "$(cat "$_site.pid")" ||
	    ct_fail "marconid of site $_site exited at startup"
	ctl_answers "$_site" ||
	    ct_fail "no answer on the control socket of site $_site in 15 s"
	ps -o pid= --ppid "$(cat "$_site.pid")" >> children.pids 2>/dev/null
}

# Site A alone: site B never starts.
start_a() {
	start_site a "$@"
}

ct_cleanup() {
	ct_init
	: > client.done
	if [ -f helpers.pids ]; then
		while read -r pid prog; do
			is_prog "$pid" "$prog" && kill -TERM "$pid" 2>/dev/null
		done < helpers.pids
	fi
	parents=""
	for s in a b; do
		[ -f $s.pid ] && parents="$parents $(cat $s.pid)"
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
	topo_destroy "$P"
	# the directory of the sockets, if this case made one
	if [ -s sockdir ]; then
		case "$(cat sockdir)" in
		/tmp/marconid-ctl.*)	rm -rf "$(cat sockdir)" ;;
		esac
	fi
}

# The client: connects to the socket $1, writes up to $2 `show pipes`
# requests of version $3 without reading a byte, for at most $4
# seconds and until the socket has taken nothing for 3 s; then says
# how many went in "sent N" on stdout, and holds the connection open
# until the file $5 exists (at most 120 s).
write_client() {
	cat > ctlflood.py <<'EOPY'
import select, socket, struct, sys, time, os

path, count, version, secs, done = (sys.argv[1], int(sys.argv[2]),
    int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
IMSG_CTL_SHOW_PIPES = 3
# struct ctl_request: version, verbose, value, peer[32], uplink[32]
req = struct.pack("=IIi32s32s", version, 0, 0, b"", b"")
# struct imsg_hdr: type, len (with the header), peerid, pid
msg = struct.pack("=IIII", IMSG_CTL_SHOW_PIPES, 16 + len(req), 0, 0) + req
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.setblocking(False)
total = len(msg) * count
sent = 0
pending = b""
start = time.monotonic()
stalled = None
while sent < total and time.monotonic() - start < secs:
    _, w, _ = select.select([], [s], [], 0.2)
    if not w:
        now = time.monotonic()
        if stalled is None:
            stalled = now
        elif now - stalled > 3:
            break
        continue
    stalled = None
    if not pending:
        pending = msg * min(100, (total - sent) // len(msg))
    try:
        n = s.send(pending)
    except BlockingIOError:
        continue
    pending = pending[n:]
    sent += n
print("sent %d" % (sent // len(msg)), flush=True)
start = time.monotonic()
while not os.path.exists(done) and time.monotonic() - start < 120:
    time.sleep(0.1)
s.close()
EOPY
}

client_sent() {
	grep -q '^sent ' client.out 2>/dev/null
}

# ---------------------------------------------------------------------

atf_test_case no_reader cleanup
no_reader_head() {
	atf_set descr "A control client that writes 100000 show pipes" \
	    "requests and never reads the answers does not grow the" \
	    "engine's memory without bound, and another client is still" \
	    "answered meanwhile and afterwards"
	ct_head 180 timeout
}
no_reader_body() {
	ct_init
	start_a
	engine=$(kid_pid "marconid: engine")
	[ -n "$engine" ] || ct_fail "no engine process"
	rss0=$(rss_kb "$engine")
	version=$(awk '$2 == "CTL_VERSION" { print $3 }' "$TOP/common/ctl.h")
	[ -n "$version" ] || atf_fail "no CTL_VERSION in common/ctl.h"

	write_client
	python3 ctlflood.py "$SOCK" 100000 "$version" 60 \
	    "$PWD/client.done" > client.out 2> client.err &
	record_helper $! python3
	topo_wait 90 client_sent ||
	    ct_fail "the client did not finish writing in 90 s:" \
	    "$(cat client.err)"
	# what the engine read, it answers at once: give it a moment, and
	# keep the largest size seen
	rss1=0
	i=0
	while [ "$i" -lt 20 ]; do
		r=$(rss_kb "$engine")
		[ "${r:-0}" -gt "$rss1" ] && rss1=$r
		sleep 0.1
		i=$((i + 1))
	done
	grew=$((rss1 - rss0))
	echo "$(cat client.out) requests; engine RSS $rss0 kB before," \
	    "$rss1 kB after: +$grew kB"

	topo_alive "$engine" || ct_fail "the engine died"
	ctl_answers ||
	    ct_fail "no answer to another client while the first one hangs"
	[ "$grew" -lt 16384 ] ||
	    ct_fail "the engine grew by $grew kB for a client that does" \
	    "not read ($(cat client.out) requests)"

	: > client.done
	topo_wait 10 ctl_answers || ct_fail "no answer after the client left"
	[ "$(kid_pid "marconid: engine")" = "$engine" ] ||
	    ct_fail "the engine was restarted"
}
no_reader_cleanup() {
	ct_cleanup
}

# refused ARGS...: marconictl ARGS on the restricted socket is refused
# as it should be, and says why.
refused() {
	rctl "$@" > r.out 2> r.err &&
	    ct_fail "the restricted socket carried out \"$*\": $(cat r.out)"
	grep -q "permission denied: restricted control socket" r.err ||
	    ct_fail "\"$*\" on the restricted socket: not the refusal" \
	    "expected: $(cat r.err)"
	[ -s r.out ] && ct_fail "\"$*\" refused, but printed $(cat r.out)"
	return 0
}

# accepted ARGS...: marconictl ARGS on the main socket is carried out.
accepted() {
	ctl "$@" > m.out 2> m.err ||
	    ct_fail "the main socket refused \"$*\": $(cat m.err)"
	grep -qx "$*: ok" m.out ||
	    ct_fail "\"$*\" on the main socket printed $(cat m.out)"
}

# jq FILTER on `-j show WHAT` at site A: jget WHAT FILTER
jget() {
	ctl -j show "$1" | jq -r "$2"
}

# the pipe of site A to site B over isp1
jpipe() {
	jget pipes ".pipes[] | select(.uplink == \"isp1\") | $1"
}

expect() {
	[ "$2" = "$3" ] || ct_fail "$1: $2, expected $3"
}

# The lines that do not depend on the moment: what both sockets must
# answer alike (text: the line count; JSON: the member names;
# OpenMetrics: the names and labels of the samples).
shape() {
	case "$1" in
	json)	jq -c '[paths | map(tostring) | join(".")]' ;;
	metrics) grep -v '^#' | sed 's/ [^ ]*$//' ;;
	*)	wc -l ;;
	esac
}

as_nobody() {
	timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    -- "$SOCKDIR/marconictl" "$@"
}

# mon_saw FILE: a monitor wrote the event of the pipe going disabled
mon_saw() {
	grep -q "disabled" "$1" 2>/dev/null
}

atf_test_case restricted cleanup
restricted_head() {
	atf_set descr "The restricted control socket answers every show" \
	    "and monitor as the main one does and refuses every command" \
	    "that changes something, which the main one carries out;" \
	    "nobody may use it but not the main one; it survives a reload," \
	    "and reload says that a new path for it waits for a restart"
	ct_head 150 setpriv timeout jq stat
}
restricted_body() {
	ct_init
	ct_sockdir
	start_a "$RSOCK"
	[ -S "$RSOCK" ] || ct_fail "no restricted socket at $RSOCK"
	expect "mode of the restricted socket" "$(stat -c %a "$RSOCK")" 666
	expect "mode of the main socket" "$(stat -c %a "$SOCK")" 660

	# every show, in every form, on both sockets
	for cmd in "show" "show summary" "show interfaces" "show pipes" \
	    "show pipes detail" "show pipes peer site-b" \
	    "show pipes peer site-b detail" "show peers" "show version" \
	    "show metrics"; do
		for form in text json; do
			j=""
			[ "$form" = json ] && j=-j
			kind=$form
			[ "$cmd" = "show metrics" ] && kind=metrics
			# shellcheck disable=SC2086 # the words of a command
			ctl $j $cmd > m.out 2> m.err ||
			    ct_fail "main socket: $j $cmd: $(cat m.err)"
			# shellcheck disable=SC2086
			rctl $j $cmd > r.out 2> r.err ||
			    ct_fail "restricted socket: $j $cmd: $(cat r.err)"
			[ -s r.out ] ||
			    ct_fail "restricted socket: $j $cmd printed nothing"
			[ -s r.err ] &&
			    ct_fail "restricted socket: $j $cmd: $(cat r.err)"
			[ "$(shape "$kind" < m.out)" = \
			    "$(shape "$kind" < r.out)" ] ||
			    ct_fail "$j $cmd differs between the sockets:" \
			    "$(cat m.out) --- $(cat r.out)"
		done
	done

	# every command that changes something, refused then carried out,
	# the state looked at after each
	reloads=$(jget summary .summary.reloads)
	refused reload
	expect "reloads after a refused reload" \
	    "$(jget summary .summary.reloads)" "$reloads"
	accepted reload
	expect "reloads after a reload" \
	    "$(jget summary .summary.reloads)" "$((reloads + 1))"
	ctl show summary >/dev/null 2>&1 ||
	    ct_fail "no answer on the main socket after the reload"
	rctl show summary >/dev/null 2>&1 ||
	    ct_fail "no answer on the restricted socket after the reload"

	expect "log level" "$(jget summary .summary.verbose)" 1
	refused log brief
	expect "log level after a refused log brief" \
	    "$(jget summary .summary.verbose)" 1
	accepted log brief
	expect "log level after log brief" "$(jget summary .summary.verbose)" 0
	refused log verbose
	expect "log level after a refused log verbose" \
	    "$(jget summary .summary.verbose)" 0
	accepted log verbose
	expect "log level after log verbose" \
	    "$(jget summary .summary.verbose)" 1

	refused pipe site-b isp1 down
	expect "admin down after a refused pipe down" \
	    "$(jpipe .admin_down)" false
	accepted pipe site-b isp1 down
	expect "admin down after pipe down" "$(jpipe .admin_down)" true
	refused pipe site-b isp1 up
	expect "admin down after a refused pipe up" "$(jpipe .admin_down)" true
	accepted pipe site-b isp1 up
	expect "admin down after pipe up" "$(jpipe .admin_down)" false

	pref=$(jpipe .preference)
	[ "$pref" != 5 ] || ct_fail "the configured preference is 5 already"
	refused pipe site-b isp1 preference 5
	expect "preference after a refused change" "$(jpipe .preference)" \
	    "$pref"
	accepted pipe site-b isp1 preference 5
	expect "preference after pipe preference 5" "$(jpipe .preference)" 5

	refused prefer site-b isp1
	expect "preferred after a refused prefer" "$(jpipe .preferred)" false
	accepted prefer site-b isp1
	expect "preferred after prefer" "$(jpipe .preferred)" true

	peer_mode() {
		jget peers '.peers[] | select(.name == "site-b") | .mode'
	}
	expect "mode" "$(peer_mode)" failover
	refused peer site-b mode duplicate
	expect "mode after a refused peer mode" "$(peer_mode)" failover
	accepted peer site-b mode duplicate
	expect "mode after peer mode duplicate" "$(peer_mode)" duplicate
	refused peer site-b mode failover
	expect "mode after a refused peer mode" "$(peer_mode)" duplicate
	accepted peer site-b mode failover
	expect "mode after peer mode failover" "$(peer_mode)" failover
	refused peer site-b mode balance
	expect "mode after a refused peer mode" "$(peer_mode)" failover
	# balance may not be there yet: whatever the answer, not a refusal
	ctl peer site-b mode balance > m.out 2> m.err
	grep -q "permission denied" m.err &&
	    ct_fail "the main socket refused peer mode: $(cat m.err)"
	ctl peer site-b mode failover > /dev/null 2>&1

	refused reset site-b
	expect "preferred after a refused reset" "$(jpipe .preferred)" true
	expect "override after a refused reset" "$(jpipe .pref_override)" true
	accepted reset site-b
	expect "preferred after reset" "$(jpipe .preferred)" false
	expect "override after reset" "$(jpipe .pref_override)" false

	# monitor on both: each sees the pipe that the main socket disables
	timeout 30 "$MARCONICTL" -s "$SOCK" monitor > mon-main.out 2>&1 &
	record_helper $! timeout
	timeout 30 "$MARCONICTL" -s "$RSOCK" monitor > mon-r.out 2>&1 &
	record_helper $! timeout
	sleep 1
	accepted pipe site-b isp1 down
	topo_wait 5 mon_saw mon-r.out ||
	    ct_fail "monitor on the restricted socket saw nothing:" \
	    "$(cat mon-r.out)"
	topo_wait 5 mon_saw mon-main.out ||
	    ct_fail "monitor on the main socket saw nothing:" \
	    "$(cat mon-main.out)"
	accepted pipe site-b isp1 up

	# a user with no rights: the restricted socket, not the main one
	as_nobody -s "$RSOCK" show pipes > n.out 2> n.err ||
	    ct_fail "nobody cannot use the restricted socket: $(cat n.err)"
	grep -q site-b n.out || ct_fail "nobody's show pipes: $(cat n.out)"
	as_nobody -s "$RSOCK" show metrics > n.out 2> n.err ||
	    ct_fail "nobody cannot show metrics: $(cat n.err)"
	[ "$(tail -n 1 n.out)" = "# EOF" ] ||
	    ct_fail "nobody's show metrics: $(tail -n 3 n.out)"
	as_nobody -s "$RSOCK" pipe site-b isp1 down > n.out 2> n.err &&
	    ct_fail "nobody disabled a pipe on the restricted socket"
	grep -q "permission denied: restricted control socket" n.err ||
	    ct_fail "nobody's pipe down: $(cat n.err)"
	expect "admin down after nobody's pipe down" "$(jpipe .admin_down)" \
	    false
	as_nobody -s "$SOCK" show pipes > n.out 2> n.err &&
	    ct_fail "nobody could use the main socket: $(cat n.out)"
	grep -q "cannot connect to $SOCK: only root" n.err ||
	    ct_fail "nobody on the main socket: $(cat n.err)"

	# a new path waits for a restart, and reload says so
	if ! sed "s|$RSOCK|$SOCKDIR/b.rsock|" a.conf > a.conf.new ||
	    ! chmod 0600 a.conf.new || ! mv a.conf.new a.conf; then
		ct_fail "cannot edit a.conf"
	fi
	grep -q "b.rsock" a.conf || ct_fail "a.conf kept its socket"
	ctl reload > m.out 2> m.err || ct_fail "reload: $(cat m.err)"
	grep -qx "reload: ok" m.out || ct_fail "reload printed $(cat m.out)"
	msg="restricted control socket changes only at restart, keeping"
	grep -q "reload: $msg $RSOCK" m.err ||
	    ct_fail "reload did not say the socket stays: $(cat m.err)"
	[ -e "$SOCKDIR/b.rsock" ] && ct_fail "reload made the new socket"
	rctl show summary >/dev/null 2>&1 ||
	    ct_fail "the restricted socket went away with the reload"
	refused reload

	# the parent removes both at the end
	kill -TERM "$(cat a.pid)"
	topo_wait 10 sh -c "! [ -e '$RSOCK' ] && ! [ -e '$SOCK' ]" ||
	    ct_fail "the sockets are still there after marconid ended"
}
restricted_cleanup() {
	ct_cleanup
}

# The checker of show metrics: reads the OpenMetrics text with the
# parser of prometheus_client, and compares it with the JSON of the
# show commands taken before (b.*) and after (e.*) it, in the work
# directory; the family names the manual must list go to families.
write_checker() {
	cat > omcheck.py <<'EOPY'
import json, sys
from prometheus_client.openmetrics.parser import \
    text_string_to_metric_families

errors = []
def fail(msg):
    errors.append(msg)

text = open("metrics.txt").read()
if not text.endswith("# EOF\n"):
    fail("the text does not end with # EOF")
try:
    families = list(text_string_to_metric_families(text))
except Exception as e:
    print("the OpenMetrics parser refused the text: %s" % e)
    sys.exit(1)

def load(when, what):
    return json.load(open("%s.%s" % (when, what)))

b = {w: load("b", w) for w in ("summary", "interfaces", "peers", "pipes",
    "version")}
e = {w: load("e", w) for w in ("summary", "interfaces", "peers", "pipes",
    "version")}

samples = {}
types = {}
with open("families", "w") as f:
    for fam in families:
        f.write(fam.name + "\n")
        types[fam.name] = fam.type
        if not fam.name.startswith("marconid_"):
            fail("family %s lacks the prefix marconid_" % fam.name)
        if not fam.documentation:
            fail("family %s has no HELP" % fam.name)
        for s in fam.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            if key in samples:
                fail("sample %s %s twice" % key)
            samples[key] = s.value

def get(name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))

checked = 0
def counter(name, lo, hi, scale=1, **labels):
    if types.get(name[:-len("_total")]) != "counter":
        fail("%s is not a counter" % name)
    between(name, lo, hi, scale, **labels)

def between(name, lo, hi, scale=1, **labels):
    global checked
    v = get(name, **labels)
    if v is None:
        fail("no %s %s" % (name, labels))
        return
    # a fixed-point figure in seconds: a thousandth either way
    slack = 1e-9 if scale == 1 else 1.0 / scale
    if not (lo / scale - slack <= v <= hi / scale + slack):
        fail("%s %s = %s, not within %s and %s" % (name, labels, v,
            lo / scale, hi / scale))
    checked += 1

def equal(name, want, **labels):
    global checked
    v = get(name, **labels)
    if v != want:
        fail("%s %s = %s, expected %s" % (name, labels, v, want))
    checked += 1

def stateset(name, states, want, **labels):
    for st in states:
        lab = dict(labels)
        lab[name] = st
        equal(name, 1 if st == want else 0, **lab)

# the daemon
equal("marconid_daemon_info", 1, version=b["version"]["version"]["marconid"])
between("marconid_uptime_seconds", b["summary"]["summary"]["uptime_sec"],
    e["summary"]["summary"]["uptime_sec"])
counter("marconid_reloads_total", b["summary"]["summary"]["reloads"],
    e["summary"]["summary"]["reloads"])

# the interfaces
for i0, i1 in zip(b["interfaces"]["interfaces"], e["interfaces"]["interfaces"]):
    n = i0["name"]
    equal("marconid_interface_up", 1 if i0["state"] == "up" else 0,
        interface=n)
    for m in ("in_packets", "out_packets", "in_bytes", "out_bytes"):
        counter("marconid_interface_%s_total" % m, i0[m], i1[m],
            interface=n)

# the peers
for p0, p1 in zip(b["peers"]["peers"], e["peers"]["peers"]):
    n = p0["name"]
    if p0["mode"] == p1["mode"]:
        stateset("marconid_peer_mode", ("failover", "duplicate",
            "balance"), p0["mode"], peer=n)
    equal("marconid_peer_pipes", p0["pipes"], peer=n)
    if p0["pipes_up"] == p1["pipes_up"]:
        equal("marconid_peer_pipes_up", p0["pipes_up"], peer=n)
    for m in ("in_packets", "out_packets", "in_bytes", "out_bytes",
        "suspect_frames", "resent_frames"):
        counter("marconid_peer_%s_total" % m, p0[m], p1[m], peer=n)
    if p0["active"] == p1["active"] and p0["active"] not in (None,
        "all up"):
        equal("marconid_peer_active_pipe_info", 1, peer=n,
            uplink=p0["active"])

# the pipes
states = ("down", "connecting", "up", "suspect", "degraded", "disabled",
    "noproc")
for q0, q1 in zip(b["pipes"]["pipes"], e["pipes"]["pipes"]):
    lab = {"peer": q0["peer"], "uplink": q0["uplink"]}
    if q0["state"] == q1["state"]:
        stateset("marconid_pipe_state", states, q0["state"], **lab)
    if q0["active"] == q1["active"]:
        equal("marconid_pipe_active", 1 if q0["active"] else 0, **lab)
    equal("marconid_pipe_preference", q0["preference"], **lab)
    for m in ("in_packets", "out_packets", "in_bytes", "out_bytes",
        "restarts", "suspects"):
        counter("marconid_pipe_%s_total" % m, q0[m], q1[m], **lab)
    counter("marconid_pipe_state_changes_total", q0["state_changes"],
        q1["state_changes"], **lab)
    counter("marconid_pipe_suspect_seconds_total", q0["suspect_ms"],
        q1["suspect_ms"], scale=1000, **lab)
    for r in q0["drop"]:
        counter("marconid_pipe_drops_total", q0["drop"][r], q1["drop"][r],
            reason=r, **lab)
    if q0["state"] == "up" and q1["state"] == "up":
        for m, j in (("rtt", "rtt_us"), ("jitter", "jitter_us"),
            ("loss", "loss_ppm")):
            name = "marconid_pipe_%s_%s" % (m, "ratio" if m == "loss"
                else "seconds")
            v = get(name, **lab)
            lo = min(q0[j], q1[j]) / 1e6
            hi = max(q0[j], q1[j]) / 1e6
            # a smoothed gauge: near what -j said around it
            if v is None or not (lo / 2 - 1e-4 <= v <= hi * 2 + 1e-3):
                fail("%s %s = %s, -j said %s then %s" % (name, lab, v,
                    lo, hi))
            checked += 1
        if get("marconid_pipe_in_packets_total", **lab) == 0:
            fail("pipe %s is up but received nothing" % lab)

# every pipe, peer and interface has its samples, and no other
def labelsets(name):
    return sorted(k[1] for k in samples if k[0] == name)
want = sorted(tuple(sorted({"peer": q["peer"], "uplink": q["uplink"]}
    .items())) for q in b["pipes"]["pipes"])
if labelsets("marconid_pipe_in_bytes_total") != want:
    fail("pipes in the metrics %s, in -j %s" %
        (labelsets("marconid_pipe_in_bytes_total"), want))
if len(b["pipes"]["pipes"]) == 0:
    fail("no pipe to compare")

for m in errors:
    print(m)
print("%d figures checked, %d errors" % (checked, len(errors)))
sys.exit(1 if errors else 0)
EOPY
}

# snapshot WHEN: the JSON of every show at site A, to WHEN.summary ...
snapshot() {
	for w in summary interfaces peers pipes version; do
		ctl -j show "$w" > "$1.$w" ||
		    ct_fail "marconictl -j show $w failed"
	done
}

sent_1000() {
	[ "$(jpipe .out_packets 2>/dev/null)" -ge 1000 ] 2>/dev/null
}

pipe_a_up() {
	[ "$(jpipe .state 2>/dev/null)" = up ]
}

atf_test_case metrics cleanup
metrics_head() {
	atf_set descr "show metrics on the restricted socket is OpenMetrics" \
	    "that prometheus_client's parser reads, with every family in" \
	    "marconictl(8), and its figures agree with marconictl -j taken" \
	    "just before and after it; that socket given to a group is" \
	    "mode 0660 and of that group, which alone may use it"
	ct_head 120 timeout jq ping setpriv stat
}
metrics_body() {
	ct_init
	PY=""
	for py in python3 /usr/bin/python3; do
		if "$py" -c "import prometheus_client" 2>/dev/null; then
			PY=$py
			break
		fi
	done
	[ -n "$PY" ] || atf_fail "no python3 with prometheus_client" \
	    "(python3-prometheus-client, see scripts/install-deps)"
	ct_sockdir
	start_site a "$RSOCK" 'group "nogroup"'
	start_site b

	# the group's, not everybody's
	expect "mode and group of the restricted socket" \
	    "$(stat -c '%a %G' "$RSOCK")" "660 nogroup"
	as_nobody -s "$RSOCK" show summary > n.out 2> n.err ||
	    ct_fail "a member of the group cannot use it: $(cat n.err)"
	timeout 10 setpriv --reuid=nobody --regid=daemon --clear-groups \
	    -- "$SOCKDIR/marconictl" -s "$RSOCK" show summary > n.out \
	    2> n.err && ct_fail "someone outside the group used it"
	grep -q "cannot connect to $RSOCK" n.err ||
	    ct_fail "outside the group: $(cat n.err)"
	topo_wait 30 pipe_a_up || ct_fail "the pipe did not come up in 30 s"
	# traffic across, so that the figures are not all zero, and far
	# more one way than the other, so that in and out cannot be mixed
	# up unseen: 1000 frames to a port where nobody listens, counted
	# once the uplink process has reported them (once a second)
	ip netns exec "${P}a" ping -q -c 20 -i 0.05 -W 1 198.19.0.2 \
	    > ping.out 2>&1 || ct_fail "no ping across: $(cat ping.out)"
	ip netns exec "${P}a" timeout 20 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(1000):
    s.sendto(b"x" * 1200, ("198.19.0.2", 9))
' || ct_fail "cannot send the datagrams across"
	topo_wait 10 sent_1000 ||
	    ct_fail "the pipe did not count 1000 frames out in 10 s:" \
	    "$(jpipe .out_packets)"

	write_checker
	snapshot b
	rctl show metrics > metrics.txt 2> metrics.err ||
	    ct_fail "show metrics on the restricted socket: $(cat metrics.err)"
	snapshot e
	"$PY" omcheck.py > check.out 2>&1 || {
		cat check.out >&2
		ct_fail "show metrics and -j disagree: $(head -n 5 check.out)"
	}
	cat check.out

	# the manual lists every family
	[ -s families ] || ct_fail "no family in the metrics"
	while read -r f; do
		grep -q "^\.It Li $f\$" "$TOP/man/marconictl.8" ||
		    ct_fail "marconictl(8) does not list $f"
	done < families
}
metrics_cleanup() {
	ct_cleanup
}

atf_init_test_cases() {
	atf_add_test_case no_reader
	atf_add_test_case restricted
	atf_add_test_case metrics
}
