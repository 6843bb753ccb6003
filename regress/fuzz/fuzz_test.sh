#!/usr/bin/env atf-sh
#
# Every input of each fuzz harness's corpus (fuzz/corpus/TARGET: the
# seeds, and each input that once made the harness fail, kept as a
# regression case) replayed through the harness built with the normal
# compiler: a harness aborts on what it finds, so each must exit 0
# after running exactly the files of its corpus.

corpus_case() {
	local t=$1 dir n

	dir="$(atf_get_srcdir)/../../fuzz/corpus/$t"
	n=$(find "$dir" -type f ! -name '.*' | wc -l)
	if [ "$n" -eq 0 ]; then
		atf_fail "no corpus in $dir"
	fi
	atf_check -s exit:0 -o ignore -e match:"^$n inputs\$" \
	    "$(atf_get_srcdir)/replay_$t" "$dir"
}

atf_test_case udp
udp_head() {
	atf_set "descr" "the datagram decoder and AEAD open path over its corpus"
}
udp_body() {
	corpus_case udp
}

atf_test_case frag
frag_head() {
	atf_set "descr" "fragment reassembly over its corpus"
}
frag_body() {
	corpus_case frag
}

atf_test_case session
session_head() {
	atf_set "descr" "the control channel's message decoder over its corpus"
}
session_body() {
	corpus_case session
}

atf_test_case imsg
imsg_head() {
	atf_set "descr" "the imsg reader over its corpus"
}
imsg_body() {
	corpus_case imsg
}

atf_test_case conf
conf_head() {
	atf_set "descr" "the configuration parser over its corpus"
}
conf_body() {
	corpus_case conf
}

atf_test_case ctl
ctl_head() {
	atf_set "descr" "the engine's handling of marconictl requests over its corpus"
}
ctl_body() {
	corpus_case ctl
}

atf_test_case route
route_head() {
	atf_set "descr" "the routing decision of a tun over its corpus"
}
route_body() {
	corpus_case route
}

atf_test_case relay
relay_head() {
	atf_set "descr" "the engine's switch and hub relay over its corpus"
}
relay_body() {
	corpus_case relay
}

atf_test_case reorder
reorder_head() {
	atf_set "descr" "the reorder buffer of balance mode over its corpus"
}
reorder_body() {
	corpus_case reorder
}

atf_init_test_cases() {
	atf_add_test_case reorder
	atf_add_test_case udp
	atf_add_test_case frag
	atf_add_test_case session
	atf_add_test_case imsg
	atf_add_test_case conf
	atf_add_test_case ctl
	atf_add_test_case route
	atf_add_test_case relay
}
