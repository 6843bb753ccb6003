# The report of a benchmark run, in markdown: awk -f report.awk
# machine.txt raw.txt.  machine.txt is "name: value" lines, its
# settings among them; raw.txt is one "RUN SYSTEM FIGURE VALUE" line
# per measurement.
# Every figure is given as the median and the range (min-max) of its
# runs; ratios are those of the medians, measured in the same run.

function sortv(a, n,    i, j, t) {
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] > t; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
}

# the values of SYSTEM's FIGURE, sorted into v[1..n]; returns n
function values(sys, fig,    n, k) {
	delete v
	n = cnt[sys, fig] + 0
	for (k = 1; k <= n; k++)
		v[k] = val[sys, fig, k]
	sortv(v, n)
	return (n)
}

function median(sys, fig,    n) {
	n = values(sys, fig)
	if (n == 0)
		return ("")
	if (n % 2)
		return (v[(n + 1) / 2])
	return ((v[n / 2] + v[n / 2 + 1]) / 2)
}

function fmt(x, unit) {
	if (x == "")
		return ("-")
	if (x >= NEVER)
		return ("> " cutwait " s")
	if (unit == "int")
		return (sprintf("%d", x + 0.5))
	if (x == 0)
		return ("0")
	if (x >= 100)
		return (sprintf("%.0f", x))
	if (x >= 10)
		return (sprintf("%.1f", x))
	return (sprintf("%.2f", x))
}

# "median (min-max)", or the one value of a single run
function cell(sys, fig, unit,    n, m) {
	n = values(sys, fig)
	if (n == 0)
		return ("-")
	m = median(sys, fig)
	n = values(sys, fig)
	if (n == 1 || v[1] == v[n])
		return (fmt(m, unit))
	return (fmt(m, unit) " (" fmt(v[1], unit) "-" fmt(v[n], unit) ")")
}

function ratio(a, b) {
	if (a == "" || b == "" || b == 0)
		return ("-")
	return (sprintf("%.2f", a / b))
}

# "k/n": in how many runs a yes/no figure was yes
function count(sys, fig,    n, k, y) {
	n = values(sys, fig)
	if (n == 0)
		return ("-")
	for (k = 1; k <= n; k++)
		y += v[k]
	return (y "/" n)
}

# "/PROFILE" of a system measured on a WAN profile, or ""
function prof(sys) {
	return (index(sys, "/") ? substr(sys, index(sys, "/")) : "")
}

function target(what, want, got, ok, by) {
	printf("| %s | %s | %s | %s |\n", what, want, got,
	    got == "-" ? "not measured" : ok ? "met" : "missed by " by)
}

# What one TCP stream can get through marconid-tap on the links of a
# balance case ("2x100", "300d10+80d30", "2x100p8"), in Mbit/s: each
# full segment, an inner packet of the tunnel's MTU less 52 bytes of IP
# and TCP with timestamps, goes in a datagram with the inner Ethernet
# header (14), the frame header (16), the piece header (8), the wire
# header (16), the tag (16), UDP (8), IP (20), and the outer Ethernet
# header (14), which tbf counts: 112 bytes more than the packet.
function ceiling(c, mtu,    n, k, parts, sum, r) {
	sub(/p[0-9]+$/, "", c)
	n = split(c, parts, "+")
	sum = 0
	for (k = 1; k <= n; k++) {
		if (match(parts[k], /^[0-9]+x[0-9]+/)) {
			split(substr(parts[k], 1, RLENGTH), r, "x")
			sum += r[1] * r[2]
		} else if (match(parts[k], /^[0-9]+/))
			sum += substr(parts[k], 1, RLENGTH)
		else
			return ("")
	}
	return (sum * (mtu - 52) / (mtu + 112))
}

BEGIN {
	NEVER = 1e12
	ref = "marconid-tap"
	nsys = 0
}

FNR == NR {
	machine[++nmachine] = $0
	if (match($0, /BENCH_CUT_WAIT=[0-9]+/))
		cutwait = substr($0, RSTART + 15, RLENGTH - 15)
	if (match($0, /inner MTU of every tunnel: [0-9]+/))
		mtu = substr($0, RSTART + 27, RLENGTH - 27) + 0
	next
}

NF == 4 {
	sys = $2
	fig = $3
	x = $4 + 0
	if (fig ~ /_back_ms$/ && x < 0)
		x = NEVER	# not back before the restore
	val[sys, fig, ++cnt[sys, fig]] = x
	if (!(sys in seen)) {
		seen[sys] = 1
		order[++nsys] = sys
	}
	if ($1 + 0 > runs)
		runs = $1 + 0
}

END {
	print "# Benchmark: marconid, OpenVPN, tinc and wireguard-go"
	print ""
	for (i = 1; i <= nmachine; i++)
		print "- " machine[i]
	print ""
	printf("Each figure: the median of %d run(s), the range in brackets; " \
	    "ratios are those of the medians, measured in the same run.  " \
	    "The machine is shared with other work and noisy: compare the " \
	    "systems by the ratios, not with other days.\n", runs)

	split("tcp1_ab tcp1_ba tcp4_ab tcp4_ba", tf, " ")
	split("1 stream A to B|1 stream B to A|4 streams A to B|" \
	    "4 streams B to A", tn, "|")
	print ""
	print "## TCP throughput over the tunnel (iperf3, Mbit/s)"
	print ""
	print "CPU: the seconds the tunnel's processes at both sites spent " \
	    "per GB moved (utime + stime)."
	print ""
	print "| test | system | Mbit/s | x raw | x " ref " | CPU s/GB |"
	print "| --- | --- | ---: | ---: | ---: | ---: |"
	for (f = 1; f <= 4; f++) {
		fig = tf[f]
		cpu = fig
		sub(/^tcp/, "cpu", cpu)
		for (i = 1; i <= nsys; i++) {
			s = order[i]
			if (cnt[s, fig] == 0)
				continue
			m = median(s, fig)
			printf("| %s | %s | %s | %s | %s | %s |\n", tn[f], s,
			    cell(s, fig), ratio(m, median("raw" prof(s), fig)),
			    ratio(m, median(ref prof(s), fig)), cell(s, cpu))
		}
	}

	print ""
	print "## Round-trip time across the tunnel (ping every 10 ms, ms)"
	print ""
	print "| system | median | p99 | added to raw (median) | " \
	    "x " ref " |"
	print "| --- | ---: | ---: | ---: | ---: |"
	raw_rtt = median("raw", "rtt_med")
	for (i = 1; i <= nsys; i++) {
		s = order[i]
		if (cnt[s, "rtt_med"] == 0)
			continue
		m = median(s, "rtt_med")
		r = median("raw" prof(s), "rtt_med")
		d = "-"
		if (r != "" && s !~ /^raw/)
			d = sprintf("%.3f", m - r)
		printf("| %s | %s | %s | %s | %s |\n", s, cell(s, "rtt_med"),
		    cell(s, "rtt_p99"), d,
		    ratio(m, median(ref prof(s), "rtt_med")))
	}

	print ""
	print "## Failover: the active ISP becomes a black hole, then " \
	    "comes back"
	print ""
	print "A UDP probe every 1 ms and a TCP stream with a record every " \
	    "1 ms.  Longest: the longest run of lost probes; back: from " \
	    "the cut to the first answer after it; stall: the longest " \
	    "gap in the TCP stream; failback: what the restore cost."
	print ""
	print "| system | longest ms | lost | back ms | TCP survived | " \
	    "TCP stall ms | failback lost | failback longest ms |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (pass = 1; pass <= 2; pass++) {
		p = pass == 1 ? "fo" : "dup"
		for (i = 1; i <= nsys; i++) {
			s = order[i]
			if (cnt[s, p "_longest_ms"] == 0)
				continue
			printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n",
			    s (p == "dup" ? " (duplicate)" : ""),
			    cell(s, p "_longest_ms"), cell(s, p "_lost", "int"),
			    cell(s, p "_back_ms"), count(s, p "_tcp_alive"),
			    cell(s, p "_tcp_stall_ms"),
			    cell(s, p "_fb_lost", "int"),
			    cell(s, p "_fb_longest_ms"))
		}
	}

	nbal = 0
	for (i = 1; i <= nsys; i++)
		if (order[i] ~ /^balance\//)
			bal[++nbal] = order[i]
	if (nbal > 0) {
		print ""
		print "## Balance mode: one TCP stream over two links"
		print ""
		print "marconid-tap in one topology per case, A to B, " \
		    "first in failover mode (the best link alone), then " \
		    "switched to balance mode with marconictl.  Links: " \
		    "RATExN, dDELAY the round trip in ms, p8 8 streams.  " \
		    "Retransmissions: iperf3's over the segments sent.  " \
		    "Held, late, given up: site B's reorder buffer.  " \
		    "Ceiling: what the links carry of one TCP stream " \
		    "through the tunnel, its full segments in datagrams of " \
		    "the inner MTU plus 112 bytes of headers (bench/report.awk)."
		print ""
		print "| case | one link Mbit/s | balance Mbit/s | ratio | " \
		    "ceiling Mbit/s | x ceiling | " \
		    "retransmissions % | held | late | given up |"
		print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | " \
		    "---: | ---: | ---: |"
		for (i = 1; i <= nbal; i++) {
			s = bal[i]
			if (cnt[s, "bal_mbps"] == 0)
				continue
			top = mtu > 0 ? ceiling(substr(s, 9), mtu) : ""
			printf("| %s | %s | %s | %s | %s | %s | %s | %s | " \
			    "%s | %s |\n",
			    substr(s, 9), cell(s, "bal_one_mbps"),
			    cell(s, "bal_mbps"), ratio(median(s, "bal_mbps"),
			    median(s, "bal_one_mbps")),
			    top == "" ? "-" : sprintf("%.1f", top),
			    ratio(median(s, "bal_mbps"), top),
			    cell(s, "bal_retr_pct"),
			    cell(s, "bal_held", "int"), cell(s, "bal_late", "int"),
			    cell(s, "bal_gaps_given_up", "int"))
		}
		for (i = 1; i <= nbal; i++) {
			s = bal[i]
			if (cnt[s, "balcut_sent"] == 0)
				continue
			print ""
			print "A cut of ISP 1 during a probe stream and a TCP " \
			    "stream (as in the failover figures), on 2x100:"
			print ""
			print "| mode | longest loss, ms | probes lost | " \
			    "TCP alive | TCP stall, ms |"
			print "| --- | ---: | ---: | --- | ---: |"
			for (f = 1; f <= 2; f++) {
				p = f == 1 ? "focut" : "balcut"
				printf("| %s | %s | %s | %s | %s |\n",
				    f == 1 ? "failover" : "balance",
				    cell(s, p "_longest_ms"),
				    cell(s, p "_lost", "int"),
				    count(s, p "_tcp_alive"),
				    cell(s, p "_tcp_stall_ms"))
			}
		}
	}

	nsoak = 0
	for (i = 1; i <= nsys; i++)
		if (cnt[order[i], "soak_s"] > 0)
			soak[++nsoak] = order[i]
	if (nsoak > 0) {
		print ""
		print "## Soaks: each system on a WAN profile, both ISPs alike"
		print ""
		print "A probe every 10 ms each way; on the deep, dsl and sat " \
		    "profiles an iperf3 stream from A to B fills the active " \
		    "pipe.  marconid: down and moves are the pipes that went " \
		    "down and the traffic moves that `marconictl monitor` saw " \
		    "at both sites; suspect: the spells, and the share of " \
		    "pipe-time (suspect_ms summed over the pipes / (seconds " \
		    "x pipes)); copies: the frames sent again over another " \
		    "pipe (suspect_frames); resent: the frames sent once more " \
		    "over it when a spell began (resent_frames).  OpenVPN: " \
		    "down is its keepalive's restarts, moves the changes of " \
		    "its remote; tinc: down is the connections it closed for " \
		    "a missed ping, moves those it made again to another " \
		    "address; wireguard-go (one endpoint, no failover): down " \
		    "is its handshakes that did not complete; all from their " \
		    "logs at both sites.  Lost: the probes lost, and the " \
		    "longest run of them, A to B and B to A."
		print ""
		print "| system | seconds | pipes | down | moves | " \
		    "suspect spells | suspect share % | copies | resent | " \
		    "lost A to B % | lost B to A % | longest A to B, ms | " \
		    "longest B to A, ms | bulk Mbit/s |"
		print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | " \
		    "---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		for (i = 1; i <= nsoak; i++) {
			s = soak[i]
			printf("| %s | %s | %s | %s | %s | %s | %s | %s | " \
			    "%s | %s | %s | %s | %s | %s |\n", s,
			    cell(s, "soak_s", "int"),
			    cell(s, "soak_pipes", "int"),
			    cell(s, "soak_downs", "int"),
			    cell(s, "soak_moves", "int"),
			    cell(s, "soak_suspects", "int"),
			    cell(s, "soak_suspect_pct"),
			    cell(s, "soak_suspect_frames", "int"),
			    cell(s, "soak_resent_frames", "int"),
			    cell(s, "soak_lost_pct_ab"),
			    cell(s, "soak_lost_pct_ba"),
			    cell(s, "soak_longest_ms_ab"),
			    cell(s, "soak_longest_ms_ba"),
			    cell(s, "soak_bulk_mbps"))
		}
	}

	print ""
	print "## marconid alone (site A: parent, engine, two pipes)"
	print ""
	print "| figure | value |"
	print "| --- | ---: |"
	printf("| resident memory at rest, MB | %s |\n",
	    mb(ref, "rss_rest_kb"))
	printf("| resident memory under load (4 streams), MB | %s |\n",
	    mb(ref, "rss_load_kb"))
	printf("| their own pages (private, without shared libraries) " \
	    "at rest, MB | %s |\n", mb(ref, "private_rest_kb"))
	printf("| their own pages under load, MB | %s |\n",
	    mb(ref, "private_load_kb"))
	printf("| CPU at rest (probes only), %% of a core | %s |\n",
	    cell(ref, "cpu_rest_pct"))

	print ""
	print "## Targets"
	print ""
	print "| target | wanted | measured (median) | |"
	print "| --- | --- | --- | --- |"
	m = median(ref, "fo_longest_ms")
	target("failover disruption", "<= 150 ms", fmt(m), m != "" &&
	    m <= 150, fmt(m - 150) " ms")
	m = median(ref, "dup_lost")
	target("duplicate mode, probes lost", "0", fmt(m, "int"), m != "" &&
	    m == 0, fmt(m, "int") " probes")
	m = median(ref, "fo_tcp_stall_ms")
	target("TCP stall at failover", "< 500 ms", fmt(m), m != "" &&
	    m < 500, fmt(m - 500) " ms")
	for (f = 1; f <= 2; f++) {
		fig = tf[f]
		best = ""
		bs = ""
		for (i = 1; i <= nsys; i++) {
			s = order[i]
			if (s ~ /^raw/ || s ~ /^marconid/ || index(s, "/") ||
			    cnt[s, fig] == 0)
				continue
			x = median(s, fig)
			if (best == "" || x > best) {
				best = x
				bs = s
			}
		}
		m = median(ref, fig)
		r = ratio(m, best)
		target("throughput, " tn[f] ", x best of the others (" bs ")",
		    ">= 1.20", r, r != "-" && r >= 1.2,
		    sprintf("%.2f", 1.2 - r) " (" fmt(m) " against " \
		    fmt(1.2 * best) " Mbit/s)")
	}
	# on the WAN profiles: what the tunnel keeps of the raw path
	for (i = 1; i <= nsys; i++) {
		s = order[i]
		if (s !~ "^" ref "/(cable|lte)$")
			continue
		for (f = 1; f <= 2; f++) {
			fig = tf[f]
			m = median(s, fig)
			b = median("raw" prof(s), fig)
			r = ratio(m, b)
			target("throughput on " substr(prof(s), 2) ", " tn[f] \
			    ", x raw", ">= 0.90", r, r != "-" && r >= 0.9,
			    sprintf("%.2f", 0.9 - r) " (" fmt(m) " against " \
			    fmt(0.9 * b) " Mbit/s)")
		}
	}
	for (i = 1; i <= nsoak; i++) {
		s = soak[i]
		if (s !~ /^marconid-/)
			continue
		m = median(s, "soak_downs") + median(s, "soak_moves")
		target("soak on " substr(prof(s), 2) ", pipes down + " \
		    "traffic moves", "0", fmt(m, "int"), m == 0,
		    fmt(m, "int"))
		if (s !~ "/lte$")
			continue
		m = median(s, "soak_suspect_pct")
		target("soak on lte, time suspect (duplicating)", "< 3 %",
		    fmt(m) " %", m != "" && m < 3, fmt(m - 3) " %")
	}
	m = median(ref, "rtt_med")
	d = m == "" || raw_rtt == "" ? "-" : sprintf("%.3f", m - raw_rtt)
	target("added round-trip time", "<= 0.150 ms", d, d != "-" &&
	    d <= 0.15, sprintf("%.3f", d - 0.15) " ms")
	m = median(ref, "rss_load_kb")
	target("resident memory under load", "<= 16 MB",
	    m == "" ? "-" : sprintf("%.1f MB", m / 1024), m != "" &&
	    m <= 16384, sprintf("%.1f MB", (m - 16384) / 1024))
	m = median(ref, "cpu_rest_pct")
	target("CPU at rest", "< 1 %", m == "" ? "-" : fmt(m) " %",
	    m != "" && m < 1, fmt(m - 1) " %")
}

function mb(sys, fig,    n, m) {
	n = values(sys, fig)
	if (n == 0)
		return ("-")
	m = median(sys, fig)
	n = values(sys, fig)
	if (n == 1 || v[1] == v[n])
		return (sprintf("%.1f", m / 1024))
	return (sprintf("%.1f (%.1f-%.1f)", m / 1024, v[1] / 1024,
	    v[n] / 1024))
}
