/*
 * fuzz_simple_rr: the simple record parser (src/zonefile/simple_rr.c), which
 * reads the common entries of a zone-file import instead of ldns, against
 * ldns itself (tests/fuzz/simple_rr_oracle.h).
 *
 * Input: one byte choosing the origin, the previous owner and the default
 * TTL, then one entry as the entry reader yields it (no NUL, no line break).
 * Invariant: every entry the simple parser takes, ldns takes too, with the
 * same owner, TTL, class, type, RDATA and previous owner afterwards.
 */
#include "simple_rr_oracle.h"

#include "fuzzing.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static char entry[8192];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const origins[] = { "example.com.", "a.b.c.d.e.f.example.org.", NULL,
	                                       "." };
	static const char *const prevs[] = { NULL, "prev.example.com.", "Mixed.Case.example.", "." };
	static const uint32_t ttls[] = { 3600, 0, 300, 2147483647 };
	if (size < 1 || size > sizeof(entry) || memchr(data + 1, '\0', size - 1) != NULL ||
	    memchr(data + 1, '\n', size - 1) != NULL) {
		return 0;
	}
	simple_rr_case_t c = {
		.origin = origins[data[0] & 3],
		.prev = prevs[(data[0] >> 2) & 3],
		.default_ttl = ttls[(data[0] >> 4) & 3],
	};
	memcpy(entry, data + 1, size - 1);
	entry[size - 1] = '\0';
	char why[1024];
	FUZZ_CHECK(simple_rr_compare(entry, &c, why, sizeof(why)) != SIMPLE_RR_DISAGREED, "%s", why);
	return 0;
}
