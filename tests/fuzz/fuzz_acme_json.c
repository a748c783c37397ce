/*
 * fuzz_acme_json: everything certdns reads from an ACME server
 * (src/acme/acme_parse.c, used by acme_client.c and engine.c): the body as a
 * JSON object and as each document -- directory, order, authorization,
 * challenge, problem (with subproblems), ARI renewalInfo -- and the bytes as
 * an HTTP header line, a Link header value and a Retry-After value.
 *
 * Invariants beyond "no crash": pointers handed out point into the document
 * or the input; a directory that parses has its three required URLs; a
 * problem description is a terminated string within its buffer for every
 * buffer size; a renewal window that parses has 0 < start <= end; alternate
 * links are strings that occur in the input between '<' and '>'; header
 * values are trimmed and lie inside the line.
 */
#include <jansson.h>
#include <time.h>

#include "acme/acme_client.h"
#include "acme/acme_parse.h"
#include "common/error.h"

#include "fuzzing.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static bool inside(const void *p, size_t n, const void *base, size_t len)
{
	const char *b = base;
	const char *q = p;
	return q >= b && q + n <= b + len;
}

static void check_documents(const json_t *obj)
{
	acme_directory_t dir;
	const char *bad = NULL;
	if (acme_parse_directory(obj, &dir, &bad) == CD_OK) {
		FUZZ_CHECK(dir.new_nonce && dir.new_account && dir.new_order && dir.json == obj,
		           "a directory without its required URLs parsed");
	} else {
		FUZZ_CHECK(bad != NULL, "a refused directory names no member");
	}

	static const size_t sizes[] = { 1, 2, 17, 256, 1024 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *out = malloc(sizes[i]);
		FUZZ_CHECK(out != NULL, "out of memory");
		acme_problem_describe(obj, out, sizes[i]);
		FUZZ_CHECK(memchr(out, '\0', sizes[i]) != NULL, "problem text not terminated in %zu bytes",
		           sizes[i]);
		free(out);
	}

	acme_authz_t authz;
	acme_parse_authorization(obj, &authz);
	FUZZ_CHECK((authz.dns01_token == NULL) == (authz.dns01_url == NULL),
	           "a dns-01 challenge with only one of token and URL");
	char name[64];
	acme_authz_name(&authz, name, sizeof(name));
	FUZZ_CHECK(memchr(name, '\0', sizeof(name)) != NULL, "authorization name not terminated");

	acme_order_t order;
	acme_parse_order(obj, &order);
	FUZZ_CHECK(order.authorizations == NULL || json_is_array(order.authorizations),
	           "authorizations not an array");
	(void)acme_parse_status(obj);

	long start, end;
	if (acme_parse_renewal_info(obj, &start, &end) == CD_OK) {
		FUZZ_CHECK(start > 0 && start <= end, "renewal window %ld..%ld", start, end);
	}
}

static void check_link(const char *v, size_t n)
{
	json_t *alternates = NULL;
	int ret = acme_parse_link_alternates(v, n, &alternates);
	FUZZ_CHECK(ret == CD_OK, "link parsing failed: %d", ret);
	size_t i;
	json_t *url;
	json_array_foreach(alternates, i, url) {
		FUZZ_CHECK(json_is_string(url), "an alternate that is not a string");
		size_t ulen = json_string_length(url);
		/* '<' URL '>' must occur in the value */
		bool found = false;
		for (const char *p = v; p + ulen + 2 <= v + n && !found; p++) {
			found = p[0] == '<' && p[ulen + 1] == '>' &&
			        memcmp(p + 1, json_string_value(url), ulen) == 0;
		}
		FUZZ_CHECK(found, "alternate URL not in the header");
	}
	json_decref(alternates);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	json_t *obj = acme_parse_json_object(text, size);
	FUZZ_CHECK(obj == NULL || json_is_object(obj), "not an object");
	if (obj != NULL) {
		check_documents(obj);
		/* The same parsers on each member that is an object (documents nest:
		 * a challenge's error, a problem's subproblems, an order's identifiers). */
		const char *key;
		json_t *value;
		json_object_foreach(obj, key, value) {
			check_documents(value);
		}
		json_decref(obj);
	}

	acme_header_t h;
	acme_header_kind_t kind = acme_parse_header_line(text, size, &h);
	if (kind == ACME_HEADER_FIELD) {
		FUZZ_CHECK(inside(h.name, h.name_len, text, size) && inside(h.value, h.value_len, text, size),
		           "header name or value outside the line");
		FUZZ_CHECK(h.value_len == 0 || (h.value[0] != ' ' && h.value[0] != '\t' &&
		           h.value[h.value_len - 1] != '\r' && h.value[h.value_len - 1] != '\n'),
		           "header value not trimmed");
		check_link(h.value, h.value_len);
		(void)acme_header_is(&h, "Link");
	}
	check_link(text, size);

	char *copy = malloc(size + 1);
	FUZZ_CHECK(copy != NULL, "out of memory");
	memcpy(copy, data, size);
	copy[size] = '\0';
	long seconds = -1;
	if (acme_parse_retry_after(copy, (time_t)1700000000, &seconds) == CD_OK) {
		FUZZ_CHECK(seconds >= 0, "negative Retry-After %ld", seconds);
	}
	free(copy);
	return 0;
}
