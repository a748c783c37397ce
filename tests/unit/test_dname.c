/*
 * Unit tests of src/dns/dname.c: lookup keys and their canonical order,
 * wire-name checks, decompression, comparisons and presentation format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "dns/dname.h"
#include "dns/wire.h"

#include "unit_util.h"

/* ---- helpers ---- */

typedef struct {
	uint8_t key[DNAME_KEY_MAX];
	size_t len;
} key_t_;

static key_t_ key_of(const char *text)
{
	uint8_t name[DNS_MAX_NAME];
	u_name(text, name);
	key_t_ k;
	memset(&k, 0, sizeof(k));
	k.len = dname_to_key(name, k.key);
	assert_true(k.len <= DNAME_KEY_MAX);
	return k;
}

/* memcmp order of two keys, the shorter first on a common prefix. */
static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;
	if (c != 0) {
		return c < 0 ? -1 : 1;
	}
	return (alen > blen) - (alen < blen);
}

static uint8_t lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* RFC 4034 6.1 canonical order, implemented directly from the text. */
static int ref_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128], *lb[128];
	int na = 0, nb = 0;
	for (const uint8_t *p = a; *p != 0; p += 1 + *p) {
		la[na++] = p;
	}
	for (const uint8_t *p = b; *p != 0; p += 1 + *p) {
		lb[nb++] = p;
	}
	for (int i = 1; i <= na && i <= nb; i++) {
		const uint8_t *x = la[na - i];
		const uint8_t *y = lb[nb - i];
		unsigned n = x[0] < y[0] ? x[0] : y[0];
		for (unsigned j = 1; j <= n; j++) {
			if (lc(x[j]) != lc(y[j])) {
				return lc(x[j]) < lc(y[j]) ? -1 : 1;
			}
		}
		if (x[0] != y[0]) {
			return x[0] < y[0] ? -1 : 1;
		}
	}
	return (na > nb) - (na < nb);
}

static void assert_roundtrip(const uint8_t *name, size_t namelen)
{
	uint8_t key[DNAME_KEY_MAX];
	size_t klen = dname_to_key(name, key);
	assert_true(klen <= DNAME_KEY_MAX);
	uint8_t back[DNS_MAX_NAME];
	int n = dname_from_key(key, klen, back);
	assert_int_equal(n, (int)namelen);
	uint8_t lower[DNS_MAX_NAME];
	memcpy(lower, name, namelen);
	dname_to_lower(lower);
	assert_memory_equal(back, lower, namelen);
}

/* ---- keys ---- */

static void test_key_root_is_empty(void **state)
{
	(void)state;
	uint8_t root[1] = { 0 };
	uint8_t key[DNAME_KEY_MAX];
	assert_int_equal(dname_to_key(root, key), 0);
	uint8_t back[DNS_MAX_NAME];
	assert_int_equal(dname_from_key(key, 0, back), 1);
	assert_int_equal(back[0], 0);
}

static void test_key_layout_reversed_labels(void **state)
{
	(void)state;
	key_t_ k = key_of("www.example.com.");
	static const uint8_t want[] = "com\0example\0www";   /* plus the final terminator */
	assert_int_equal(k.len, sizeof(want));
	assert_memory_equal(k.key, want, sizeof(want));
}

static void test_key_roundtrip_simple(void **state)
{
	(void)state;
	static const char *names[] = {
		"a.", "example.", "www.example.com.", "a.b.c.d.e.f.g.", "*.example.",
		"xn--bcher-kva.example.", "-.example.", "\\255\\254.\\128.",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint8_t name[DNS_MAX_NAME];
		size_t len = u_name(names[i], name);
		assert_roundtrip(name, len);
	}
}

static void test_key_lowercases_ascii(void **state)
{
	(void)state;
	key_t_ upper = key_of("WWW.Example.COM.");
	key_t_ lower = key_of("www.example.com.");
	assert_int_equal(upper.len, lower.len);
	assert_memory_equal(upper.key, lower.key, lower.len);

	uint8_t back[DNS_MAX_NAME];
	int n = dname_from_key(upper.key, upper.len, back);
	uint8_t want[DNS_MAX_NAME];
	size_t wlen = u_name("www.example.com.", want);
	assert_int_equal(n, (int)wlen);
	assert_memory_equal(back, want, wlen);
}

static void test_key_folds_only_ascii_letters(void **state)
{
	(void)state;
	/* '@' (0x40) and '[' (0x5B) border 'A'..'Z'; 0xC1 is 0x41 with the high bit. */
	static const char *pairs[][2] = {
		{ "\\@.example.", "`.example." },
		{ "[.example.", "{.example." },
		{ "\\193.example.", "\\225.example." },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		key_t_ a = key_of(pairs[i][0]);
		key_t_ b = key_of(pairs[i][1]);
		assert_int_not_equal(key_cmp(a.key, a.len, b.key, b.len), 0);
	}
	key_t_ k = key_of("\\193.");
	assert_int_equal(k.len, 2);
	assert_int_equal(k.key[0], 0xC1);
}

static void test_key_canonical_order_rfc4034(void **state)
{
	(void)state;
	/* RFC 4034 section 6.1, in order. */
	static const char *names[] = {
		"example.",
		"a.example.",
		"yljkjljk.a.example.",
		"Z.a.example.",
		"zABC.a.EXAMPLE.",
		"z.example.",
		"\\001.z.example.",
		"*.z.example.",
		"\\200.z.example.",
	};
	enum { N = sizeof(names) / sizeof(names[0]) };
	key_t_ keys[N];
	for (size_t i = 0; i < N; i++) {
		keys[i] = key_of(names[i]);
	}
	for (size_t i = 0; i < N; i++) {
		for (size_t j = 0; j < N; j++) {
			int c = key_cmp(keys[i].key, keys[i].len, keys[j].key, keys[j].len);
			int want = (i < j) ? -1 : (i > j) ? 1 : 0;
			if (c != want) {
				fail_msg("key(%s) vs key(%s): got %d, want %d", names[i], names[j], c,
				         want);
			}
		}
	}
}

static int cmp_keys_qsort(const void *pa, const void *pb)
{
	const key_t_ *a = pa;
	const key_t_ *b = pb;
	return key_cmp(a->key, a->len, b->key, b->len);
}

static void test_key_sort_restores_rfc4034_order(void **state)
{
	(void)state;
	static const char *names[] = {
		"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
		"zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
		"\\200.z.example.",
	};
	enum { N = sizeof(names) / sizeof(names[0]) };
	/* A fixed shuffle of the list. */
	static const int shuffled[N] = { 7, 2, 8, 0, 5, 3, 6, 1, 4 };
	key_t_ keys[N];
	for (size_t i = 0; i < N; i++) {
		keys[i] = key_of(names[shuffled[i]]);
	}
	qsort(keys, N, sizeof(keys[0]), cmp_keys_qsort);
	for (size_t i = 0; i < N; i++) {
		key_t_ want = key_of(names[i]);
		assert_int_equal(keys[i].len, want.len);
		assert_memory_equal(keys[i].key, want.key, want.len);
	}
}

static void test_key_escapes_zero_and_one(void **state)
{
	(void)state;
	/* Label bytes 0x00 0x01 0x02 'a' -> 01 01, 01 02, 02, 'a', terminator. */
	uint8_t name[] = { 4, 0x00, 0x01, 0x02, 'a', 0 };
	uint8_t key[DNAME_KEY_MAX];
	size_t klen = dname_to_key(name, key);
	static const uint8_t want[] = { 0x01, 0x01, 0x01, 0x02, 0x02, 'a', 0x00 };
	assert_int_equal(klen, sizeof(want));
	assert_memory_equal(key, want, sizeof(want));
	/* 0x00 appears only as a label terminator. */
	for (size_t i = 0; i + 1 < klen; i++) {
		assert_int_not_equal(key[i], 0x00);
	}
	assert_roundtrip(name, sizeof(name));
}

static void test_key_zero_one_labels_roundtrip(void **state)
{
	(void)state;
	static const uint8_t names[][12] = {
		{ 1, 0x00, 0 },
		{ 1, 0x01, 0 },
		{ 2, 0x00, 0x00, 0 },
		{ 2, 0x01, 0x01, 0 },
		{ 2, 0x01, 0x00, 1, 0x00, 0 },
	};
	static const size_t lens[] = { 3, 3, 4, 4, 6 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_roundtrip(names[i], lens[i]);
	}
	/* One with a longer tail built explicitly. */
	uint8_t name[32];
	size_t n = 0;
	name[n++] = 3;
	name[n++] = 0x00;
	name[n++] = 0x01;
	name[n++] = 0x00;
	n += u_name("example.", name + n);
	assert_roundtrip(name, n);
}

static void test_key_zero_one_labels_sort(void **state)
{
	(void)state;
	/* Canonical order of single labels under example. as raw bytes. */
	static const uint8_t labels[][4] = {
		{ 1, 0x00 },
		{ 2, 0x00, 0x00 },
		{ 2, 0x00, 0xFF },
		{ 1, 0x01 },
		{ 2, 0x01, 0x00 },
		{ 2, 0x01, 0x01 },
		{ 2, 0x01, 0x02 },
		{ 1, 0x02 },
		{ 1, 'a' },
		{ 2, 'a', 0x00 },
		{ 2, 'a', 0x01 },
		{ 1, 0xFF },
	};
	enum { N = sizeof(labels) / sizeof(labels[0]) };
	key_t_ keys[N];
	for (size_t i = 0; i < N; i++) {
		uint8_t name[DNS_MAX_NAME];
		size_t l = (size_t)labels[i][0] + 1;
		memcpy(name, labels[i], l);
		u_name("example.", name + l);
		keys[i].len = dname_to_key(name, keys[i].key);
	}
	for (size_t i = 0; i + 1 < N; i++) {
		if (key_cmp(keys[i].key, keys[i].len, keys[i + 1].key, keys[i + 1].len) >= 0) {
			fail_msg("label %zu does not sort before label %zu", i, i + 1);
		}
	}
}

/* Deterministic pseudo-random names over a small alphabet with many collisions. */
static uint32_t rng_state = 12345;
static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 16;
}

static size_t random_name(uint8_t *out)
{
	static const uint8_t alphabet[] = { 0x00, 0x01, 0x02, 'a', 'A', 'b', 'B', '*', 0x7F, 0xFF };
	size_t o = 0;
	unsigned labels = rng() % 4;
	for (unsigned l = 0; l < labels; l++) {
		unsigned len = 1 + rng() % 3;
		out[o++] = (uint8_t)len;
		for (unsigned i = 0; i < len; i++) {
			out[o++] = alphabet[rng() % sizeof(alphabet)];
		}
	}
	out[o++] = 0;
	return o;
}

static void test_key_order_matches_reference(void **state)
{
	(void)state;
	enum { N = 300 };
	static uint8_t names[N][DNS_MAX_NAME];
	static key_t_ keys[N];
	rng_state = 12345;
	for (size_t i = 0; i < N; i++) {
		size_t len = random_name(names[i]);
		keys[i].len = dname_to_key(names[i], keys[i].key);
		assert_roundtrip(names[i], len);
	}
	for (size_t i = 0; i < N; i++) {
		for (size_t j = 0; j < N; j++) {
			int want = ref_cmp(names[i], names[j]);
			int got = key_cmp(keys[i].key, keys[i].len, keys[j].key, keys[j].len);
			if (want != got) {
				char a[DNAME_STR_MAX], b[DNAME_STR_MAX];
				dname_to_str(names[i], a, sizeof(a));
				dname_to_str(names[j], b, sizeof(b));
				fail_msg("%s vs %s: key order %d, canonical order %d", a, b, got, want);
			}
			assert_int_equal(dname_equal(names[i], names[j]), want == 0);
		}
	}
}

static void test_key_max_length_name(void **state)
{
	(void)state;
	/* 255 bytes: three labels of 63 and one of 61, all 0x00 (worst case for escaping). */
	uint8_t name[DNS_MAX_NAME];
	size_t o = 0;
	static const unsigned lens[] = { 63, 63, 63, 61 };
	for (size_t l = 0; l < 4; l++) {
		name[o++] = (uint8_t)lens[l];
		memset(name + o, 0x00, lens[l]);
		o += lens[l];
	}
	name[o++] = 0;
	assert_int_equal(o, DNS_MAX_NAME);
	assert_int_equal(dname_wire_length(name, sizeof(name)), DNS_MAX_NAME);
	uint8_t key[DNAME_KEY_MAX];
	size_t klen = dname_to_key(name, key);
	assert_int_equal(klen, 2 * 250 + 4);
	assert_true(klen <= DNAME_KEY_MAX);
	assert_roundtrip(name, o);
}

static void test_key_ancestors_are_prefixes(void **state)
{
	(void)state;
	static const char *chain[] = {
		".", "com.", "example.com.", "www.example.com.", "a.www.example.com.",
	};
	enum { N = sizeof(chain) / sizeof(chain[0]) };
	for (size_t i = 0; i < N; i++) {
		key_t_ anc = key_of(chain[i]);
		for (size_t j = i; j < N; j++) {
			key_t_ desc = key_of(chain[j]);
			assert_true(anc.len <= desc.len);
			assert_memory_equal(anc.key, desc.key, anc.len);
			if (anc.len > 0) {
				assert_int_equal(anc.key[anc.len - 1], 0x00);
			}
			if (j > i) {
				/* The next byte of the descendant starts a new label. */
				assert_int_not_equal(desc.key[anc.len], 0x00);
			}
		}
	}
	/* Not an ancestor: a label that is a string prefix of another. */
	key_t_ exam = key_of("exam.com.");
	key_t_ example = key_of("example.com.");
	assert_false(exam.len <= example.len && memcmp(exam.key, example.key, exam.len) == 0);
	/* Case does not matter for prefixes either. */
	key_t_ upper = key_of("EXAMPLE.COM.");
	key_t_ below = key_of("x.example.com.");
	assert_memory_equal(upper.key, below.key, upper.len);
}

static void test_key_subtree_is_contiguous(void **state)
{
	(void)state;
	/* Every name below example. sorts between example. and its next sibling. */
	key_t_ lo = key_of("example.");
	key_t_ hi = key_of("example0.");
	static const char *inside[] = { "a.example.", "\\000.example.", "\\255.\\255.example.",
	                                "zzz.example." };
	for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
		key_t_ k = key_of(inside[i]);
		assert_true(key_cmp(lo.key, lo.len, k.key, k.len) < 0);
		assert_true(key_cmp(k.key, k.len, hi.key, hi.len) < 0);
	}
}

static void test_key_from_key_rejects_malformed(void **state)
{
	(void)state;
	uint8_t out[DNS_MAX_NAME];
	static const uint8_t no_terminator[] = { 'c', 'o', 'm' };
	static const uint8_t empty_label[] = { 0x00 };
	static const uint8_t empty_inner[] = { 'c', 'o', 'm', 0x00, 0x00 };
	static const uint8_t bad_escape3[] = { 0x01, 0x03, 0x00 };
	static const uint8_t bad_escape0[] = { 0x01, 0x00 };
	static const uint8_t escape_at_end[] = { 'a', 0x01 };
	assert_int_equal(dname_from_key(no_terminator, sizeof(no_terminator), out), CD_EMALF);
	assert_int_equal(dname_from_key(empty_label, sizeof(empty_label), out), CD_EMALF);
	assert_int_equal(dname_from_key(empty_inner, sizeof(empty_inner), out), CD_EMALF);
	assert_int_equal(dname_from_key(bad_escape3, sizeof(bad_escape3), out), CD_EMALF);
	assert_int_equal(dname_from_key(bad_escape0, sizeof(bad_escape0), out), CD_EMALF);
	assert_int_equal(dname_from_key(escape_at_end, sizeof(escape_at_end), out), CD_EMALF);

	/* A 64-byte label. */
	uint8_t long_label[65];
	memset(long_label, 'a', 64);
	long_label[64] = 0x00;
	assert_int_equal(dname_from_key(long_label, sizeof(long_label), out), CD_EMALF);

	/* Five labels of 63: a 321-byte name. */
	uint8_t too_long[5 * 64];
	for (size_t l = 0; l < 5; l++) {
		memset(too_long + l * 64, 'b', 63);
		too_long[l * 64 + 63] = 0x00;
	}
	assert_int_equal(dname_from_key(too_long, sizeof(too_long), out), CD_EMALF);

	/* Exactly 256 bytes: four labels of 63 (4*64 + root). */
	uint8_t just_over[4 * 64];
	for (size_t l = 0; l < 4; l++) {
		memset(just_over + l * 64, 'c', 63);
		just_over[l * 64 + 63] = 0x00;
	}
	assert_int_equal(dname_from_key(just_over, sizeof(just_over), out), CD_EMALF);
}

/* ---- dname_wire_length ---- */

static void test_wire_length_valid(void **state)
{
	(void)state;
	uint8_t root[] = { 0 };
	assert_int_equal(dname_wire_length(root, 1), 1);
	uint8_t name[DNS_MAX_NAME];
	size_t len = u_name("www.example.com.", name);
	assert_int_equal(dname_wire_length(name, len), (int)len);
	/* Extra bytes after the name are not part of it. */
	uint8_t buf[64];
	memcpy(buf, name, len);
	memset(buf + len, 0xAB, 10);
	assert_int_equal(dname_wire_length(buf, len + 10), (int)len);
}

static void test_wire_length_truncated(void **state)
{
	(void)state;
	uint8_t name[DNS_MAX_NAME];
	size_t len = u_name("www.example.com.", name);
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_equal(dname_wire_length(name, cut), CD_EMALF);
	}
}

static void test_wire_length_rejects_label_64(void **state)
{
	(void)state;
	uint8_t name[70];
	name[0] = 64;
	memset(name + 1, 'a', 64);
	name[65] = 0;
	assert_int_equal(dname_wire_length(name, 66), CD_EMALF);
	name[0] = 63;
	name[64] = 0;
	assert_int_equal(dname_wire_length(name, 65), 65);
}

static void test_wire_length_rejects_pointers(void **state)
{
	(void)state;
	uint8_t ptr[] = { 3, 'w', 'w', 'w', 0xC0, 12 };
	assert_int_equal(dname_wire_length(ptr, sizeof(ptr)), CD_EMALF);
	uint8_t ext[] = { 0x41, 0, 0 };   /* obsolete extended label type */
	assert_int_equal(dname_wire_length(ext, sizeof(ext)), CD_EMALF);
}

static void test_wire_length_max_255(void **state)
{
	(void)state;
	uint8_t name[300];
	size_t o = 0;
	/* 63+63+63+61 labels: 4*1 + 250 + root = 255 */
	static const unsigned lens[] = { 63, 63, 63, 61 };
	for (size_t l = 0; l < 4; l++) {
		name[o++] = (uint8_t)lens[l];
		memset(name + o, 'x', lens[l]);
		o += lens[l];
	}
	name[o++] = 0;
	assert_int_equal(dname_wire_length(name, sizeof(name)), 255);
	/* One more byte in the last label: 256. */
	o = 0;
	static const unsigned lens2[] = { 63, 63, 63, 62 };
	for (size_t l = 0; l < 4; l++) {
		name[o++] = (uint8_t)lens2[l];
		memset(name + o, 'x', lens2[l]);
		o += lens2[l];
	}
	name[o++] = 0;
	assert_int_equal(o, 256);
	assert_int_equal(dname_wire_length(name, sizeof(name)), CD_EMALF);
}

/* ---- dname_unpack ---- */

static void test_unpack_uncompressed(void **state)
{
	(void)state;
	uint8_t pkt[64] = { 0 };
	size_t len = u_name("Www.Example.", pkt + 12);
	size_t pos = 12;
	uint8_t out[DNS_MAX_NAME];
	int n = dname_unpack(pkt, 12 + len + 4, &pos, out);
	assert_int_equal(n, (int)len);
	assert_int_equal(pos, 12 + len);
	assert_memory_equal(out, pkt + 12, len);   /* case preserved */
}

static void test_unpack_backward_pointer(void **state)
{
	(void)state;
	uint8_t pkt[64] = { 0 };
	size_t nlen = u_name("example.com.", pkt + 12);         /* at 12 */
	size_t at = 12 + nlen;
	static const uint8_t compressed[] = { 3, 'W', 'w', 'W', 0xC0, 12, 0xEE };
	memcpy(pkt + at, compressed, sizeof(compressed));
	size_t pos = at;
	uint8_t out[DNS_MAX_NAME];
	int n = dname_unpack(pkt, at + sizeof(compressed), &pos, out);
	uint8_t want[DNS_MAX_NAME];
	size_t wlen = u_name("WwW.example.com.", want);
	assert_int_equal(n, (int)wlen);
	assert_memory_equal(out, want, wlen);
	assert_int_equal(pos, at + 6);   /* just past the pointer */
}

static void test_unpack_pointer_chain(void **state)
{
	(void)state;
	/* com. at 12, example + ptr(12) at 17, www + ptr(17) at 27, a + ptr(27) at 33. */
	uint8_t pkt[64] = { 0 };
	size_t o = 12;
	o += u_name("com.", pkt + o);                              /* 12..16 */
	static const uint8_t ex[] = { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0xC0, 12 };
	memcpy(pkt + o, ex, sizeof(ex));                           /* 17..26 */
	o += sizeof(ex);
	static const uint8_t www[] = { 3, 'w', 'w', 'w', 0xC0, 17 };
	memcpy(pkt + o, www, sizeof(www));                         /* 27..32 */
	o += sizeof(www);
	static const uint8_t a[] = { 1, 'a', 0xC0, 27 };
	size_t start = o;
	memcpy(pkt + o, a, sizeof(a));
	o += sizeof(a);
	size_t pos = start;
	uint8_t out[DNS_MAX_NAME];
	int n = dname_unpack(pkt, o, &pos, out);
	uint8_t want[DNS_MAX_NAME];
	size_t wlen = u_name("a.www.example.com.", want);
	assert_int_equal(n, (int)wlen);
	assert_memory_equal(out, want, wlen);
	assert_int_equal(pos, start + 4);
}

static void test_unpack_whole_name_pointer(void **state)
{
	(void)state;
	uint8_t pkt[64] = { 0 };
	size_t nlen = u_name("example.", pkt + 12);
	size_t at = 12 + nlen;
	pkt[at] = 0xC0;
	pkt[at + 1] = 12;
	size_t pos = at;
	uint8_t out[DNS_MAX_NAME];
	assert_int_equal(dname_unpack(pkt, at + 2, &pos, out), (int)nlen);
	assert_memory_equal(out, pkt + 12, nlen);
	assert_int_equal(pos, at + 2);
}

static void test_unpack_forward_pointer_rejected(void **state)
{
	(void)state;
	uint8_t pkt[64] = { 0 };
	/* At 12: pointer to 20, where a valid name sits. */
	pkt[12] = 0xC0;
	pkt[13] = 20;
	u_name("example.", pkt + 20);
	size_t pos = 12;
	uint8_t out[DNS_MAX_NAME];
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), CD_EMALF);
	assert_int_equal(pos, 12);   /* not advanced on failure */
}

static void test_unpack_self_pointer_rejected(void **state)
{
	(void)state;
	uint8_t pkt[32] = { 0 };
	pkt[12] = 0xC0;
	pkt[13] = 12;
	size_t pos = 12;
	uint8_t out[DNS_MAX_NAME];
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), CD_EMALF);
	/* A label then a pointer back to the start of the same name. */
	static const uint8_t loop[] = { 1, 'a', 0xC0, 12 };
	memcpy(pkt + 12, loop, sizeof(loop));
	pos = 12;
	assert_int_equal(dname_unpack(pkt, sizeof(pkt), &pos, out), CD_EMALF);
}

static void test_unpack_pointer_loop_rejected(void **state)
{
	(void)state;
	/* At 12: "b" then pointer to 16; at 16: "a" then pointer to 12.  Start at 16. */
	uint8_t pkt[32] = { 0 };
	static const uint8_t first[] = { 1, 'b', 0xC0, 16 };
	static const uint8_t second[] = { 1, 'a', 0xC0, 12 };
	memcpy(pkt + 12, first, sizeof(first));
	memcpy(pkt + 16, second, sizeof(second));
	uint8_t out[DNS_MAX_NAME];
	size_t pos = 16;
	assert_int_equal(dname_unpack(pkt, 20, &pos, out), CD_EMALF);
	pos = 12;
	assert_int_equal(dname_unpack(pkt, 20, &pos, out), CD_EMALF);
}

static void test_unpack_too_long_rejected(void **state)
{
	(void)state;
	/* Four 63-byte labels then the root via pointers: 4*64 + 1 = 257 bytes. */
	uint8_t pkt[400] = { 0 };
	size_t o = 12;
	pkt[o++] = 0;                          /* root at 12 */
	size_t prev = 12;
	for (int l = 0; l < 4; l++) {
		size_t here = o;
		pkt[o++] = 63;
		memset(pkt + o, 'a' + l, 63);
		o += 63;
		pkt[o++] = (uint8_t)(0xC0 | (prev >> 8));
		pkt[o++] = (uint8_t)prev;
		prev = here;
	}
	size_t pos = prev;
	uint8_t out[DNS_MAX_NAME];
	assert_int_equal(dname_unpack(pkt, o, &pos, out), CD_EMALF);

	/* Three labels through the same pointers: 3*64 + 1 = 193 bytes, fine. */
	size_t third = prev - 66;              /* start of the third label block */
	pos = third;
	assert_int_equal(dname_unpack(pkt, o, &pos, out), 3 * 64 + 1);
}

static void test_unpack_too_long_uncompressed_rejected(void **state)
{
	(void)state;
	uint8_t pkt[300];
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		pkt[o++] = 63;
		memset(pkt + o, 'z', 63);
		o += 63;
	}
	pkt[o++] = 0;   /* 257 bytes */
	size_t pos = 0;
	uint8_t out[DNS_MAX_NAME];
	assert_int_equal(dname_unpack(pkt, o, &pos, out), CD_EMALF);
}

static void test_unpack_label_64_rejected(void **state)
{
	(void)state;
	uint8_t pkt[100] = { 0 };
	pkt[12] = 64;
	memset(pkt + 13, 'a', 64);
	pkt[77] = 0;
	size_t pos = 12;
	uint8_t out[DNS_MAX_NAME];
	assert_int_equal(dname_unpack(pkt, 78, &pos, out), CD_EMALF);
	/* 0x80 (reserved label type) is rejected too. */
	pkt[12] = 0x80;
	pos = 12;
	assert_int_equal(dname_unpack(pkt, 78, &pos, out), CD_EMALF);
}

static void test_unpack_truncated_rejected(void **state)
{
	(void)state;
	uint8_t pkt[64] = { 0 };
	size_t nlen = u_name("example.", pkt + 12);
	uint8_t out[DNS_MAX_NAME];
	for (size_t cut = 12; cut < 12 + nlen; cut++) {
		size_t pos = 12;
		assert_int_equal(dname_unpack(pkt, cut, &pos, out), CD_EMALF);
	}
	/* A pointer cut after its first byte. */
	size_t at = 12 + nlen;
	pkt[at] = 0xC0;
	pkt[at + 1] = 12;
	size_t pos = at;
	assert_int_equal(dname_unpack(pkt, at + 1, &pos, out), CD_EMALF);
}

/* ---- comparisons ---- */

static void test_label_count(void **state)
{
	(void)state;
	uint8_t name[DNS_MAX_NAME];
	u_name(".", name);
	assert_int_equal(dname_label_count(name), 0);
	u_name("com.", name);
	assert_int_equal(dname_label_count(name), 1);
	u_name("a.b.c.example.com.", name);
	assert_int_equal(dname_label_count(name), 5);
}

static void test_equal_case_insensitive(void **state)
{
	(void)state;
	uint8_t a[DNS_MAX_NAME], b[DNS_MAX_NAME];
	u_name("WWW.Example.COM.", a);
	u_name("www.example.com.", b);
	assert_true(dname_equal(a, b));
	assert_true(dname_equal(b, a));
	u_name("www.example.org.", b);
	assert_false(dname_equal(a, b));
	u_name("www.example.com.x.", b);
	assert_false(dname_equal(a, b));
	u_name("ww.wexample.com.", b);   /* same bytes, other label split */
	assert_false(dname_equal(a, b));
	uint8_t root[1] = { 0 };
	assert_true(dname_equal(root, root));
	assert_false(dname_equal(root, a));
}

static void test_equal_folds_only_letters(void **state)
{
	(void)state;
	uint8_t a[DNS_MAX_NAME], b[DNS_MAX_NAME];
	u_name("\\@.", a);
	u_name("`.", b);
	assert_false(dname_equal(a, b));
	u_name("[.", a);
	u_name("{.", b);
	assert_false(dname_equal(a, b));
	u_name("\\193.", a);
	u_name("\\225.", b);
	assert_false(dname_equal(a, b));
}

static void test_is_subdomain(void **state)
{
	(void)state;
	uint8_t apex[DNS_MAX_NAME], name[DNS_MAX_NAME];
	u_name("Example.COM.", apex);
	u_name("example.com.", name);
	assert_true(dname_is_subdomain(name, apex));
	u_name("www.EXAMPLE.com.", name);
	assert_true(dname_is_subdomain(name, apex));
	u_name("a.b.c.example.com.", name);
	assert_true(dname_is_subdomain(name, apex));
	u_name("com.", name);
	assert_false(dname_is_subdomain(name, apex));
	u_name("wwwexample.com.", name);
	assert_false(dname_is_subdomain(name, apex));
	u_name("ample.com.", name);
	assert_false(dname_is_subdomain(name, apex));
	u_name("www.example.org.", name);
	assert_false(dname_is_subdomain(name, apex));
	uint8_t root[1] = { 0 };
	assert_true(dname_is_subdomain(name, root));
	assert_true(dname_is_subdomain(root, root));
	assert_false(dname_is_subdomain(root, apex));
}

static void test_skip_labels(void **state)
{
	(void)state;
	uint8_t name[DNS_MAX_NAME];
	u_name("a.bb.ccc.", name);
	assert_ptr_equal(dname_skip_labels(name, 0), name);
	assert_ptr_equal(dname_skip_labels(name, 1), name + 2);
	assert_ptr_equal(dname_skip_labels(name, 2), name + 5);
	assert_ptr_equal(dname_skip_labels(name, 3), name + 9);
	assert_ptr_equal(dname_skip_labels(name, 10), name + 9);   /* stops at the root */
}

static void test_to_lower(void **state)
{
	(void)state;
	uint8_t name[DNS_MAX_NAME], want[DNS_MAX_NAME];
	size_t len = u_name("WwW.EXAMPLE.@[`{\\193Z.", name);
	u_name("www.example.@[`{\\193z.", want);
	dname_to_lower(name);
	assert_memory_equal(name, want, len);
}

/* ---- dname_to_str ---- */

static void assert_str(const uint8_t *name, const char *want)
{
	char out[DNAME_STR_MAX];
	assert_int_equal(dname_to_str(name, out, sizeof(out)), CD_OK);
	assert_string_equal(out, want);
}

static void test_to_str_plain(void **state)
{
	(void)state;
	uint8_t name[DNS_MAX_NAME];
	u_name(".", name);
	assert_str(name, ".");
	u_name("www.Example.com.", name);
	assert_str(name, "www.Example.com.");
	u_name("*.x-y_z.", name);
	assert_str(name, "*.x-y_z.");
}

static void test_to_str_escapes_specials(void **state)
{
	(void)state;
	/* Label "a.b", label "\", label "\"();@$" */
	static const uint8_t name[] = {
		3, 'a', '.', 'b',
		1, '\\',
		7, '"', '(', ')', ';', '@', '$', 'q',
		0,
	};
	assert_str(name, "a\\.b.\\\\.\\\"\\(\\)\\;\\@\\$q.");
}

static void test_to_str_escapes_nonprintable(void **state)
{
	(void)state;
	static const uint8_t name[] = { 6, 0x00, ' ', 0x1F, 0x7F, 0x80, 0xFF, 1, '~', 0 };
	assert_str(name, "\\000\\032\\031\\127\\128\\255.~.");
}

static void test_to_str_roundtrips_through_parser(void **state)
{
	(void)state;
	static const uint8_t name[] = { 5, 0x00, '.', '\\', 0xC8, 'A', 3, 'c', 'o', 'm', 0 };
	char text[DNAME_STR_MAX];
	assert_int_equal(dname_to_str(name, text, sizeof(text)), CD_OK);
	uint8_t back[DNS_MAX_NAME];
	size_t len = u_name(text, back);
	assert_int_equal(len, sizeof(name));
	assert_memory_equal(back, name, sizeof(name));
}

static void test_to_str_truncation(void **state)
{
	(void)state;
	uint8_t name[DNS_MAX_NAME];
	u_name("www.example.", name);   /* "www.example." is 12 characters */
	char out[32];
	memset(out, 'X', sizeof(out));
	assert_int_equal(dname_to_str(name, out, 13), CD_OK);
	assert_string_equal(out, "www.example.");
	memset(out, 'X', sizeof(out));
	assert_int_equal(dname_to_str(name, out, 12), CD_ESPACE);
	assert_non_null(memchr(out, '\0', 12));   /* terminated within the buffer */
	assert_int_equal(out[12], 'X');            /* and nothing written past it */
	memset(out, 'X', sizeof(out));
	assert_int_equal(dname_to_str(name, out, 5), CD_ESPACE);
	assert_non_null(memchr(out, '\0', 5));
	assert_int_equal(out[5], 'X');
	/* The root needs two bytes. */
	uint8_t root[1] = { 0 };
	assert_int_equal(dname_to_str(root, out, 1), CD_ESPACE);
	assert_int_equal(out[0], '\0');
	assert_int_equal(dname_to_str(root, out, 0), CD_ESPACE);
}

static void test_to_str_worst_case_fits(void **state)
{
	(void)state;
	/* 255-byte name of 0xFF bytes: every byte becomes \255. */
	uint8_t name[DNS_MAX_NAME];
	size_t o = 0;
	static const unsigned lens[] = { 63, 63, 63, 61 };
	for (size_t l = 0; l < 4; l++) {
		name[o++] = (uint8_t)lens[l];
		memset(name + o, 0xFF, lens[l]);
		o += lens[l];
	}
	name[o++] = 0;
	char out[DNAME_STR_MAX];
	assert_int_equal(dname_to_str(name, out, sizeof(out)), CD_OK);
	assert_int_equal(strlen(out), 250 * 4 + 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_root_is_empty),
		cmocka_unit_test(test_key_layout_reversed_labels),
		cmocka_unit_test(test_key_roundtrip_simple),
		cmocka_unit_test(test_key_lowercases_ascii),
		cmocka_unit_test(test_key_folds_only_ascii_letters),
		cmocka_unit_test(test_key_canonical_order_rfc4034),
		cmocka_unit_test(test_key_sort_restores_rfc4034_order),
		cmocka_unit_test(test_key_escapes_zero_and_one),
		cmocka_unit_test(test_key_zero_one_labels_roundtrip),
		cmocka_unit_test(test_key_zero_one_labels_sort),
		cmocka_unit_test(test_key_order_matches_reference),
		cmocka_unit_test(test_key_max_length_name),
		cmocka_unit_test(test_key_ancestors_are_prefixes),
		cmocka_unit_test(test_key_subtree_is_contiguous),
		cmocka_unit_test(test_key_from_key_rejects_malformed),
		cmocka_unit_test(test_wire_length_valid),
		cmocka_unit_test(test_wire_length_truncated),
		cmocka_unit_test(test_wire_length_rejects_label_64),
		cmocka_unit_test(test_wire_length_rejects_pointers),
		cmocka_unit_test(test_wire_length_max_255),
		cmocka_unit_test(test_unpack_uncompressed),
		cmocka_unit_test(test_unpack_backward_pointer),
		cmocka_unit_test(test_unpack_pointer_chain),
		cmocka_unit_test(test_unpack_whole_name_pointer),
		cmocka_unit_test(test_unpack_forward_pointer_rejected),
		cmocka_unit_test(test_unpack_self_pointer_rejected),
		cmocka_unit_test(test_unpack_pointer_loop_rejected),
		cmocka_unit_test(test_unpack_too_long_rejected),
		cmocka_unit_test(test_unpack_too_long_uncompressed_rejected),
		cmocka_unit_test(test_unpack_label_64_rejected),
		cmocka_unit_test(test_unpack_truncated_rejected),
		cmocka_unit_test(test_label_count),
		cmocka_unit_test(test_equal_case_insensitive),
		cmocka_unit_test(test_equal_folds_only_letters),
		cmocka_unit_test(test_is_subdomain),
		cmocka_unit_test(test_skip_labels),
		cmocka_unit_test(test_to_lower),
		cmocka_unit_test(test_to_str_plain),
		cmocka_unit_test(test_to_str_escapes_specials),
		cmocka_unit_test(test_to_str_escapes_nonprintable),
		cmocka_unit_test(test_to_str_roundtrips_through_parser),
		cmocka_unit_test(test_to_str_truncation),
		cmocka_unit_test(test_to_str_worst_case_fits),
	};
	return cmocka_run_group_tests_name("dname", tests, NULL, NULL);
}
