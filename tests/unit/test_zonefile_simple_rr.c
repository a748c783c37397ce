/*
 * The simple record parser (src/zonefile/simple_rr.c) against ldns: every
 * entry it takes must give exactly what ldns_rr_new_frm_str gives, and it
 * must take the entries common zone files are made of.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simple_rr_oracle.h"

typedef simple_rr_case_t context_t;

/* Fails the test if the two parsers disagree; returns whether the simple parser took entry. */
static bool check_agrees(const char *entry, const context_t *c)
{
	char why[1024];
	simple_rr_verdict_t v = simple_rr_compare(entry, c, why, sizeof(why));
	if (v == SIMPLE_RR_DISAGREED) {
		fail_msg("%s", why);
	}
	return v == SIMPLE_RR_AGREED;
}

static bool parse_simple(const char *entry, const context_t *c)
{
	static simple_rr_parsed_t out;
	return simple_rr_by_simple(entry, c, &out);
}

static const context_t zone_ctx = { "example.com.", "prev.example.com.", 3600 };

static void test_simple_rr_takes_common_entries_as_ldns_does(void **state)
{
	(void)state;
	static const char *const entries[] = {
		"www A 192.0.2.1",
		"www 300 IN A 192.0.2.1",
		"@ NS ns1",
		"@ 86400 IN NS ns1.example.net.",
		"\tA 192.0.2.2",
		"  300 AAAA 2001:db8::1",
		"h0 AAAA 2001:db8:0:0::2",
		"Mail.Example.COM. mx 10 mx1",
		"@ MX 0 .",
		"c0 CNAME h13",
		"c1 cname www.example.net.",
		"*.w0 A 10.0.0.5",
		"_acme-challenge.h0 120 TXT \"4RhUJGwDdgeArzmreUxx_GTmDZARLr8dzjVt0XGGhHR\"",
		"t0 TXT \"v=spf1 ip4:10.0.0.3 -all\"",
		"t1 TXT \"part one\" \"part two\" three",
		"t2 TXT \"\"",
		"t3 TXT word",
		"@ CAA 0 issue \"letsencrypt.org\"",
		"@ CAA 128 iodef \"mailto:security@example.com\"",
		"@ CAA 0 issuewild \"\"",
		"_sip._tcp SRV 10 60 5060 sip",
		"_sip._udp 60 IN SRV 0 0 5060 sip.example.net.",
		"4.2.0.192.in-addr.arpa. PTR www",
		"old DNAME new.example.net.",
		"d0 86400 NS ns1.d0",
		"x 0 A 10.0.0.7",
		"x 999999999 A 10.0.0.8",
	};
	size_t taken = 0;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		taken += check_agrees(entries[i], &zone_ctx);
	}
	assert_int_equal(taken, sizeof(entries) / sizeof(entries[0]));
}

static void test_simple_rr_declines_what_it_does_not_read(void **state)
{
	(void)state;
	static const char *const entries[] = {
		/* other types, classes and TTL forms: ldns reads these */
		"@ SOA ns1 hostmaster 1 7200 3600 1209600 300",
		"@ DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE",
		"x TYPE65280 \\# 2 abcd",
		"x CH A 192.0.2.1",
		"x CLASS1 A 192.0.2.1",
		"x 1h A 192.0.2.1",
		"x 4294967295 A 192.0.2.1",
		/* escapes and characters with a meaning of their own */
		"a\\.b A 192.0.2.1",
		"x TXT \"a\\\"b\"",
		"x TXT \"a;b\"",
		"x TXT \"a(b)\"",
		"caf\xc3\xa9 A 192.0.2.1",
		"@x A 192.0.2.1",
		"x@ A 192.0.2.1",
		"x TXT \"a\"b",
		"x TXT a\"b\"",
		/* errors, which ldns reports */
		"a..b A 192.0.2.1",
		".x A 192.0.2.1",
		"x A 192.0.2.1 192.0.2.2",
		"x A 01.2.3.4",
		"x A",
		"x",
		"x MX 65536 m",
		"x MX -1 m",
		"x CAA 0 issue \"x\" ",
		"x CAA 256 issue \"x\"",
		"x CAA 0 is-sue \"x\"",
		"x CAA 0 issue x",
		"x TXT",
		"x www A 192.0.2.1",
		"x IN IN A 192.0.2.1",
		"x IN 300 A 192.0.2.1",   /* ldns reads "300" as the type */
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx A 192.0.2.1",
	};
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		if (parse_simple(entries[i], &zone_ctx)) {
			fail_msg("[%s]: the simple parser should leave this to ldns", entries[i]);
		}
	}
}

static void test_simple_rr_follows_ldns_for_missing_owner_and_origin(void **state)
{
	(void)state;
	static const context_t contexts[] = {
		{ "example.com.", "prev.example.com.", 3600 },
		{ "example.com.", NULL, 300 },
		{ NULL, "prev.example.com.", 0 },
		{ NULL, NULL, 7200 },
	};
	static const char *const entries[] = {
		" A 192.0.2.1", "@ A 192.0.2.1", "www A 192.0.2.1", "www. A 192.0.2.1",
		"www. CNAME @", "www. CNAME target", "www. MX 10 @", "abs.example.org. NS ns.",
	};
	size_t taken = 0;
	for (size_t c = 0; c < sizeof(contexts) / sizeof(contexts[0]); c++) {
		for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
			taken += check_agrees(entries[i], &contexts[c]);
		}
	}
	/* Without an origin, '@' and relative names are left to ldns. */
	assert_int_equal(taken, 8 + 8 + 3 + 2);
}

/* Entries built from pieces, valid and not, in every combination. */
static void test_simple_rr_agrees_with_ldns_on_combined_entries(void **state)
{
	(void)state;
	static const char *const owners[] = {
		"www", "Www.Sub", "@", "", "abs.example.org.", "*.w", "_acme-challenge.h0", "a..b",
		"@x", ".", "-", "a/b", "a+b", "1.2.3.4.in-addr.arpa.",
		"a123456789b123456789c123456789d123456789e123456789f123456789abc",
		"a123456789b123456789c123456789d123456789e123456789f123456789abcd",
	};
	static const char *const ttls[] = {
		"", "0", "300", "0300", "999999999", "1234567890", "1h", "4294967296", "-1",
	};
	static const char *const classes[] = { "", "IN", "in", "CH", "CLASS1", "ANY" };
	static const char *const rdatas[] = {
		"A 192.0.2.1", "a 10.0.0.1", "A 01.2.3.4", "A 1.2.3", "A 256.1.1.1",
		"A 1.2.3.4 5.6.7.8", "A", "A ::1",
		"AAAA 2001:db8::1", "AAAA ::ffff:1.2.3.4", "AAAA 1.2.3.4", "AAAA 2001:db8::g",
		"NS ns1", "CNAME @", "CNAME .", "PTR host.example.", "DNAME x.y", "CNAME a..b", "NS",
		"NS a b",
		"MX 10 mail", "MX 010 m.", "MX 65535 @", "MX 65536 m", "MX -1 m", "MX +5 m",
		"MX 10", "MX m 10",
		"SRV 1 2 3 t", "SRV 0 0 65535 .", "SRV 1 2 t", "SRV 1 2 3 4 t",
		"TXT \"hello world\"", "TXT a b c", "TXT \"\"", "TXT \"x\"\"y\"", "TXT \"x\" y",
		"TXT \"v=spf1 -all\" \"second\"", "TXT", "TXT \"unclosed",
		"CAA 0 issue \"letsencrypt.org\"", "CAA 128 iodef \"mailto:a@b\"",
		"CAA 0 issue \"\"", "CAA 0 issue \"x\" \"y\"", "CAA 0 issue", "CAA 00 ISSUE \"x\"",
		"SOA ns hm 1 2 3 4 5", "DS 1 8 2 abcd", "TYPE1 1.2.3.4",
	};
	static const char *const blanks[] = { " ", "\t", "  \t " };
	static const context_t contexts[] = {
		{ "example.com.", "prev.example.com.", 3600 },
		{ "example.com.", NULL, 0 },
		{ NULL, "prev.example.com.", 300 },
	};
	char entry[512];
	size_t n = 0;
	size_t taken = 0;
	for (size_t o = 0; o < sizeof(owners) / sizeof(owners[0]); o++) {
		for (size_t t = 0; t < sizeof(ttls) / sizeof(ttls[0]); t++) {
			for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
				for (size_t r = 0; r < sizeof(rdatas) / sizeof(rdatas[0]); r++, n++) {
					const char *sep = blanks[n % 3];
					const char *trail = (n / 3) % 4 == 0 ? " " : "";
					snprintf(entry, sizeof(entry), "%s%s%s%s%s%s%s%s", owners[o], sep,
					         ttls[t], ttls[t][0] ? sep : "", classes[c],
					         classes[c][0] ? sep : "", rdatas[r], trail);
					taken += check_agrees(entry, &contexts[n % 3]);
				}
			}
		}
	}
	/* A large share is in the subset: the comparison above has been made. */
	assert_true(taken > n / 20);
}

/* TXT strings up to 255 octets are read; longer ones are ldns's error to report. */
static void test_simple_rr_txt_string_length_limit(void **state)
{
	(void)state;
	char entry[600];
	for (size_t len = 250; len <= 260; len++) {
		int n = snprintf(entry, sizeof(entry), "t TXT \"%0*d\"", (int)len, 0);
		assert_true(n > 0 && (size_t)n < sizeof(entry));
		assert_int_equal(parse_simple(entry, &zone_ctx), len <= 255);
		check_agrees(entry, &zone_ctx);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_rr_takes_common_entries_as_ldns_does),
		cmocka_unit_test(test_simple_rr_declines_what_it_does_not_read),
		cmocka_unit_test(test_simple_rr_follows_ldns_for_missing_owner_and_origin),
		cmocka_unit_test(test_simple_rr_agrees_with_ldns_on_combined_entries),
		cmocka_unit_test(test_simple_rr_txt_string_length_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
