#include "zonefile/simple_rr.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "dns/wire.h"

/*
 * Names built here stay a little below the 255-octet limit: at the limit
 * ldns's length checks decide, so such names are left to it.
 */
#define SIMPLE_NAME_MAX 250

/* A token: a run of characters without blanks. */
typedef struct {
	const char *s;
	size_t n;
} token_t;

static inline bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool is_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '*' || c == '/';
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p)) {
		p++;
	}
	return p;
}

/* The next token from *p (blanks before it skipped); false at the end of the entry. */
static bool next_token(const char **p, token_t *t)
{
	const char *s = skip_blanks(*p);
	const char *e = s;
	while (*e != '\0' && !is_blank(*e)) {
		e++;
	}
	*p = e;
	t->s = s;
	t->n = (size_t)(e - s);
	return t->n > 0;
}

static bool token_is(const token_t *t, const char *word)
{
	size_t n = strlen(word);
	return t->n == n && strncasecmp(t->s, word, n) == 0;
}

/* An unsigned decimal of at most max_digits digits and at most max. */
static bool parse_uint(const token_t *t, size_t max_digits, uint32_t max, uint32_t *out)
{
	if (t->n == 0 || t->n > max_digits) {
		return false;
	}
	uint32_t v = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (!is_digit(t->s[i])) {
			return false;
		}
		v = v * 10 + (uint32_t)(t->s[i] - '0');
	}
	if (v > max) {
		return false;
	}
	*out = v;
	return true;
}

/*
 * A domain name: '@' (the origin), '.' (the root), or labels of label
 * characters, absolute with a final dot or else completed with the origin.
 * Writes the wire form to out; returns its length, or 0 to decline.
 */
static size_t parse_name(const token_t *t, const zf_simple_ctx_t *ctx, uint8_t out[255])
{
	if (t->n == 1 && t->s[0] == '@') {
		if (ctx->origin == NULL) {
			return 0;
		}
		memcpy(out, ctx->origin, ctx->origin_len);
		return ctx->origin_len;
	}
	if (t->n == 1 && t->s[0] == '.') {
		out[0] = 0;
		return 1;
	}
	if (t->n > SIMPLE_NAME_MAX) {
		return 0;
	}
	size_t len = 0;   /* wire bytes written */
	size_t i = 0;
	while (i < t->n) {
		size_t start = i;
		while (i < t->n && is_label_char(t->s[i])) {
			i++;
		}
		size_t label = i - start;
		if (label == 0 || label > 63 || (i < t->n && t->s[i] != '.')) {
			return 0;   /* an empty label, a long one, or another character */
		}
		out[len] = (uint8_t)label;
		memcpy(out + len + 1, t->s + start, label);
		len += label + 1;
		i++;   /* the dot, or past the end */
	}
	if (t->s[t->n - 1] == '.') {
		out[len] = 0;
		return len + 1;
	}
	if (ctx->origin == NULL || len + ctx->origin_len > SIMPLE_NAME_MAX) {
		return 0;
	}
	memcpy(out + len, ctx->origin, ctx->origin_len);
	return len + ctx->origin_len;
}

/* Appends bytes to the record's data; false if they do not fit. */
static bool put(zf_simple_rr_t *rr, const void *data, size_t n)
{
	if (n > rr->rdata_cap - rr->rdlen) {
		return false;
	}
	memcpy(rr->rdata + rr->rdlen, data, n);
	rr->rdlen += n;
	return true;
}

static bool put_u16(zf_simple_rr_t *rr, uint32_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	return put(rr, b, 2);
}

/* A 16-bit decimal field. */
static bool rdata_u16(const char **p, zf_simple_rr_t *rr)
{
	token_t t;
	uint32_t v;
	return next_token(p, &t) && parse_uint(&t, 5, 65535, &v) && put_u16(rr, v);
}

/* A domain-name field (uncompressed). */
static bool rdata_name(const char **p, const zf_simple_ctx_t *ctx, zf_simple_rr_t *rr)
{
	token_t t;
	uint8_t name[255];
	size_t len;
	return next_token(p, &t) && (len = parse_name(&t, ctx, name)) > 0 && put(rr, name, len);
}

/* An address field, through inet_pton as ldns does. */
static bool rdata_address(const char **p, int af, zf_simple_rr_t *rr)
{
	token_t t;
	char text[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	if (!next_token(p, &t) || t.n >= sizeof(text)) {
		return false;
	}
	memcpy(text, t.s, t.n);
	text[t.n] = '\0';
	if (inet_pton(af, text, addr) != 1) {
		return false;
	}
	return put(rr, addr, af == AF_INET ? 4 : 16);
}

/*
 * TXT: one or more character-strings, each a quoted string followed by a
 * blank or the end, or a word without quotes; at most 255 octets each.
 */
static bool rdata_txt(const char **p, zf_simple_rr_t *rr)
{
	const char *s = skip_blanks(*p);
	size_t strings = 0;
	while (*s != '\0') {
		const char *start;
		const char *end;
		if (*s == '"') {
			start = s + 1;
			end = strchr(start, '"');
			if (end == NULL || (end[1] != '\0' && !is_blank(end[1]))) {
				return false;
			}
			s = end + 1;
		} else {
			start = s;
			end = s;
			while (*end != '\0' && !is_blank(*end)) {
				if (*end == '"') {
					return false;
				}
				end++;
			}
			s = end;
		}
		size_t n = (size_t)(end - start);
		uint8_t len = (uint8_t)n;
		if (n > 255 || !put(rr, &len, 1) || !put(rr, start, n)) {
			return false;
		}
		strings++;
		s = skip_blanks(s);
	}
	*p = s;
	return strings > 0;
}

/*
 * CAA (RFC 8659): flags, a tag of letters and digits, and a quoted value
 * that ends the entry (ldns takes nothing after it, not even a blank).
 */
static bool rdata_caa(const char **p, zf_simple_rr_t *rr)
{
	token_t flags;
	token_t tag;
	uint32_t v;
	if (!next_token(p, &flags) || !parse_uint(&flags, 3, 255, &v) || !next_token(p, &tag) ||
	    tag.n > 255) {
		return false;
	}
	for (size_t i = 0; i < tag.n; i++) {
		if (!is_alnum(tag.s[i])) {
			return false;
		}
	}
	const char *s = skip_blanks(*p);
	if (*s != '"') {
		return false;
	}
	const char *end = strchr(s + 1, '"');
	if (end == NULL || end[1] != '\0') {
		return false;
	}
	uint8_t head[2] = { (uint8_t)v, (uint8_t)tag.n };
	if (!put(rr, head, 2) || !put(rr, tag.s, tag.n) || !put(rr, s + 1, (size_t)(end - s - 1))) {
		return false;
	}
	*p = end + 1;
	return true;
}

static bool parse_rdata(const char **p, const zf_simple_ctx_t *ctx, zf_simple_rr_t *rr)
{
	switch (rr->type) {
	case DNS_TYPE_A:
		return rdata_address(p, AF_INET, rr);
	case DNS_TYPE_AAAA:
		return rdata_address(p, AF_INET6, rr);
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		return rdata_name(p, ctx, rr);
	case DNS_TYPE_MX:
		return rdata_u16(p, rr) && rdata_name(p, ctx, rr);
	case DNS_TYPE_SRV:
		return rdata_u16(p, rr) && rdata_u16(p, rr) && rdata_u16(p, rr) &&
		       rdata_name(p, ctx, rr);
	case DNS_TYPE_TXT:
		return rdata_txt(p, rr);
	case DNS_TYPE_CAA:
		return rdata_caa(p, rr);
	default:
		return false;
	}
}

static uint16_t simple_type(const token_t *t)
{
	static const struct {
		const char *name;
		uint16_t type;
	} types[] = {
		{ "A", DNS_TYPE_A },       { "AAAA", DNS_TYPE_AAAA }, { "TXT", DNS_TYPE_TXT },
		{ "CNAME", DNS_TYPE_CNAME }, { "MX", DNS_TYPE_MX },   { "NS", DNS_TYPE_NS },
		{ "CAA", DNS_TYPE_CAA },   { "SRV", DNS_TYPE_SRV },   { "PTR", DNS_TYPE_PTR },
		{ "DNAME", DNS_TYPE_DNAME },
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (token_is(t, types[i].name)) {
			return types[i].type;
		}
	}
	return 0;
}

/*
 * Only printable ASCII and tabs, and none of the characters whose meaning
 * depends on where they are (escapes; parentheses and ';' inside quotes,
 * which ldns's tokenizer treats its own way).
 */
static bool plain_text(const char *entry)
{
	for (const unsigned char *c = (const unsigned char *)entry; *c != '\0'; c++) {
		if ((*c < 0x20 && *c != '\t') || *c >= 0x7f || *c == '\\' || *c == '(' || *c == ')' ||
		    *c == ';') {
			return false;
		}
	}
	return true;
}

bool zf_simple_rr_parse(const char *entry, const zf_simple_ctx_t *ctx, zf_simple_rr_t *out)
{
	if (!plain_text(entry)) {
		return false;
	}
	const char *p = entry;
	token_t t;
	out->rdlen = 0;
	out->owner_given = !is_blank(entry[0]);
	if (out->owner_given) {
		if (!next_token(&p, &t) || (t.s[0] == '@' && t.n != 1)) {
			return false;   /* ldns takes any owner starting with '@' as the origin */
		}
		out->owner_len = parse_name(&t, ctx, out->owner);
	} else if (ctx->prev != NULL) {
		memcpy(out->owner, ctx->prev, ctx->prev_len);
		out->owner_len = ctx->prev_len;
	} else if (ctx->origin != NULL) {
		memcpy(out->owner, ctx->origin, ctx->origin_len);
		out->owner_len = ctx->origin_len;
	} else {
		return false;
	}
	if (out->owner_len == 0 || !next_token(&p, &t)) {
		return false;
	}
	/* [TTL] [IN] TYPE: a token starting with a digit is a TTL. */
	out->ttl = ctx->default_ttl != 0 ? ctx->default_ttl : 3600;
	if (is_digit(t.s[0])) {
		if (!parse_uint(&t, 9, UINT32_MAX, &out->ttl) || !next_token(&p, &t)) {
			return false;
		}
	}
	out->rclass = DNS_CLASS_IN;
	if (token_is(&t, "IN") && !next_token(&p, &t)) {
		return false;
	}
	out->type = simple_type(&t);
	if (out->type == 0 || !parse_rdata(&p, ctx, out)) {
		return false;
	}
	return *skip_blanks(p) == '\0';
}
