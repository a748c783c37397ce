#include "dns/cookie.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"
#include "common/siphash.h"
#include "dns/dname.h"
#include "dns/response.h"
#include "dns/wire.h"

#define COOKIE_VERSION 1

int cookie_secrets_generate(cookie_secrets_t *s)
{
	memset(s, 0, sizeof(*s));
	ssize_t n = getrandom(s->secret[0], COOKIE_SECRET_SIZE, 0);
	if (n != COOKIE_SECRET_SIZE) {
		return CD_EIO;
	}
	s->count = 1;
	return CD_OK;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	c = tolower(c);
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Parses exactly 32 hex digits, surrounded by blanks at most. */
static bool parse_secret(const char *line, uint8_t out[COOKIE_SECRET_SIZE])
{
	while (isspace((unsigned char)*line)) {
		line++;
	}
	for (size_t i = 0; i < COOKIE_SECRET_SIZE; i++) {
		int hi = hex_value((unsigned char)line[2 * i]);
		int lo = hi < 0 ? -1 : hex_value((unsigned char)line[2 * i + 1]);
		if (lo < 0) {
			return false;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	line += 2 * COOKIE_SECRET_SIZE;
	while (isspace((unsigned char)*line)) {
		line++;
	}
	return *line == '\0';
}

int cookie_secrets_load(cookie_secrets_t *s, const char *path, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "cannot read cookie secret file %s: %s", path, strerror(errno));
		return CD_EIO;
	}
	int ret = CD_OK;
	char line[256];
	unsigned lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		const char *p = line;
		while (isspace((unsigned char)*p)) {
			p++;
		}
		if (*p == '\0' || *p == '#') {
			continue;
		}
		if (s->count == COOKIE_SECRETS_MAX) {
			snprintf(err, errlen, "%s line %u: at most %d cookie secrets (the first makes "
			         "cookies, the others are still accepted)", path, lineno, COOKIE_SECRETS_MAX);
			ret = CD_ESYNTAX;
			break;
		}
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s line %u: line too long; want 32 hex digits "
			         "(16 bytes, e.g. from `openssl rand -hex 16`)", path, lineno);
			ret = CD_ESYNTAX;
			break;
		}
		if (!parse_secret(p, s->secret[s->count])) {
			snprintf(err, errlen, "%s line %u: not a cookie secret; want 32 hex digits "
			         "(16 bytes, e.g. from `openssl rand -hex 16`)", path, lineno);
			ret = CD_ESYNTAX;
			break;
		}
		s->count++;
	}
	if (ret == CD_OK && ferror(f)) {
		snprintf(err, errlen, "cannot read cookie secret file %s: %s", path, strerror(errno));
		ret = CD_EIO;
	}
	if (ret == CD_OK && s->count == 0) {
		snprintf(err, errlen, "%s holds no cookie secret; want a line of 32 hex digits "
		         "(16 bytes, e.g. from `openssl rand -hex 16`)", path);
		ret = CD_ESYNTAX;
	}
	fclose(f);
	if (ret != CD_OK) {
		memset(s, 0, sizeof(*s));
	}
	return ret;
}

/* The hash input of RFC 9018 4.4 up to the address: client cookie, version, reserved, time. */
static uint64_t cookie_hash(const uint8_t secret[COOKIE_SECRET_SIZE], const uint8_t head[16],
                            const uint8_t *addr, size_t addr_len)
{
	uint8_t msg[16 + 16];
	memcpy(msg, head, 16);
	memcpy(msg + 16, addr, addr_len);
	return siphash24(secret, msg, 16 + addr_len);
}

void cookie_make(const uint8_t secret[COOKIE_SECRET_SIZE], const uint8_t client[COOKIE_CLIENT_SIZE],
                 const uint8_t *addr, size_t addr_len, uint32_t timestamp,
                 uint8_t out[COOKIE_SERVER_SIZE])
{
	uint8_t head[16];
	memcpy(head, client, COOKIE_CLIENT_SIZE);
	head[8] = COOKIE_VERSION;
	head[9] = head[10] = head[11] = 0;
	wire_write_u32(head + 12, timestamp);
	memcpy(out, head + 8, 8);
	siphash_put(out + 8, cookie_hash(secret, head, addr, addr_len));
}

/* The address bytes the hash covers: 4 for IPv4, 16 for IPv6. */
static size_t peer_address(const struct sockaddr *peer, const uint8_t **addr)
{
	if (peer->sa_family == AF_INET) {
		*addr = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		return 4;
	}
	if (peer->sa_family == AF_INET6) {
		*addr = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		return 16;
	}
	return 0;
}

/* Compares in time independent of where they differ: no oracle for forging a hash. */
static bool equal_hash(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;
	for (int i = 0; i < 8; i++) {
		diff |= (uint8_t)(a[i] ^ b[i]);
	}
	return diff == 0;
}

void cookie_check(const cookie_secrets_t *s, const dns_query_t *q, const struct sockaddr *peer,
                  uint32_t now, cookie_t *out)
{
	out->verdict = COOKIE_NONE;
	if (q->cookie == NULL) {
		return;
	}
	const uint8_t *addr = NULL;
	size_t addr_len = peer_address(peer, &addr);
	const uint8_t *ck = q->cookie;
	out->verdict = q->cookie_len == COOKIE_CLIENT_SIZE ? COOKIE_CLIENT_ONLY : COOKIE_BAD;
	if (q->cookie_len == COOKIE_CLIENT_SIZE + COOKIE_SERVER_SIZE && ck[8] == COOKIE_VERSION &&
	    addr_len > 0) {
		uint32_t stamp = wire_read_u32(ck + 12);
		int32_t age = (int32_t)(now - stamp);   /* serial number arithmetic (RFC 1982) */
		for (unsigned i = 0; i < s->count && age >= -COOKIE_MAX_FUTURE && age <= COOKIE_MAX_AGE;
		     i++) {
			uint8_t hash[8];
			siphash_put(hash, cookie_hash(s->secret[i], ck, addr, addr_len));
			if (!equal_hash(hash, ck + 16)) {
				continue;
			}
			out->verdict = COOKIE_VALID;
			if (i == 0 && age >= 0 && age <= COOKIE_REFRESH_AGE && ck[9] == 0 && ck[10] == 0 &&
			    ck[11] == 0) {
				memcpy(out->server, ck + COOKIE_CLIENT_SIZE, COOKIE_SERVER_SIZE);
				return;
			}
			break;
		}
	}
	if (addr_len == 0) {
		out->verdict = COOKIE_NONE;   /* not an IP peer: nothing to bind a cookie to */
		return;
	}
	cookie_make(s->secret[0], ck, addr, addr_len, now, out->server);
}

size_t cookie_put(const dns_query_t *q, const cookie_t *c, uint8_t *resp, size_t len, size_t cap)
{
	if (q->cookie == NULL || c->verdict == COOKIE_NONE || len < DNS_HEADER_SIZE + EDNS_OPT_SIZE ||
	    cap < len || cap - len < EDNS_COOKIE_ANSWER_SIZE) {
		return len;
	}
	uint8_t *opt = resp + len - EDNS_OPT_SIZE;
	if (opt[0] != 0 || wire_read_u16(opt + 1) != DNS_TYPE_OPT || wire_read_u16(opt + 9) != 0) {
		return len;   /* the answer does not end with the empty OPT the builder writes */
	}
	wire_write_u16(opt + 9, EDNS_COOKIE_ANSWER_SIZE);
	uint8_t *p = resp + len;
	wire_write_u16(p, EDNS_OPTION_COOKIE);
	wire_write_u16(p + 2, COOKIE_CLIENT_SIZE + COOKIE_SERVER_SIZE);
	memcpy(p + 4, q->cookie, COOKIE_CLIENT_SIZE);
	memcpy(p + 4 + COOKIE_CLIENT_SIZE, c->server, COOKIE_SERVER_SIZE);
	len += EDNS_COOKIE_ANSWER_SIZE;
	if (!q->has_question && q->rcode == DNS_RCODE_NOERROR && c->verdict == COOKIE_BAD) {
		cookie_set_badcookie(resp, len);   /* RFC 7873 5.4 */
	}
	return len;
}

bool cookie_set_badcookie(uint8_t *resp, size_t len)
{
	if (len < DNS_HEADER_SIZE) {
		return false;
	}
	size_t pos = DNS_HEADER_SIZE;
	uint8_t name[DNS_MAX_NAME];
	unsigned qd = wire_read_u16(resp + 4);
	unsigned rrs = (unsigned)wire_read_u16(resp + 6) + wire_read_u16(resp + 8) +
	               wire_read_u16(resp + 10);
	for (unsigned i = 0; i < qd; i++) {
		if (dname_unpack(resp, len, &pos, name) < 0 || len - pos < 4) {
			return false;
		}
		pos += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		if (dname_unpack(resp, len, &pos, name) < 0 || len - pos < 10) {
			return false;
		}
		if (wire_read_u16(resp + pos) == DNS_TYPE_OPT) {
			resp[pos + 4] = DNS_RCODE_BADCOOKIE >> 4;   /* the extended rcode's high bits */
			resp[3] = (uint8_t)((resp[3] & 0xF0) | (DNS_RCODE_BADCOOKIE & 0x0F));
			return true;
		}
		pos += 10 + (size_t)wire_read_u16(resp + pos + 8);
		if (pos > len) {
			return false;
		}
	}
	return false;
}
