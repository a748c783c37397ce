#pragma once
/*
 * Helpers shared by the cmocka unit tests: wire names from presentation text
 * and hand-built query packets.  Everything is static inline so each test
 * program uses only what it needs without unused-function warnings.
 *
 * Include after <stdarg.h>, <stddef.h>, <stdint.h>, <setjmp.h>, <cmocka.h>.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/wire.h"

/*
 * Parses a presentation-format name ("www.example.", "example", "." for the
 * root; \DDD and \X escapes) into uncompressed wire format.  A missing final
 * dot is accepted: every name is absolute.  Fails the current test on a name
 * that is not valid.  Returns the wire length.
 */
static inline size_t u_name(const char *text, uint8_t *out)
{
	size_t o = 0;
	const char *p = text;
	if (strcmp(text, ".") == 0) {
		p = "";
	}
	while (*p != '\0') {
		size_t lenpos = o++;
		unsigned n = 0;
		while (*p != '\0' && *p != '.') {
			uint8_t c;
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' &&
			    p[3] >= '0' && p[3] <= '9') {
				unsigned v = (unsigned)(p[1] - '0') * 100 + (unsigned)(p[2] - '0') * 10 +
				             (unsigned)(p[3] - '0');
				assert_true(v <= 255);
				c = (uint8_t)v;
				p += 4;
			} else if (p[0] == '\\') {
				assert_true(p[1] != '\0');
				c = (uint8_t)p[1];
				p += 2;
			} else {
				c = (uint8_t)*p++;
			}
			assert_true(o < DNS_MAX_NAME - 1);
			out[o++] = c;
			n++;
		}
		assert_true(n >= 1 && n <= DNS_MAX_LABEL);
		out[lenpos] = (uint8_t)n;
		if (*p == '.') {
			p++;
		}
	}
	assert_true(o < DNS_MAX_NAME);
	out[o++] = 0;
	return o;
}

/* Header of a query: id, flags, QDCOUNT 1, no other records. */
static inline size_t u_header(uint8_t *buf, uint16_t id, uint16_t flags, uint16_t qd,
                              uint16_t an, uint16_t ns, uint16_t ar)
{
	wire_write_u16(buf, id);
	wire_write_u16(buf + 2, flags);
	wire_write_u16(buf + 4, qd);
	wire_write_u16(buf + 6, an);
	wire_write_u16(buf + 8, ns);
	wire_write_u16(buf + 10, ar);
	return DNS_HEADER_SIZE;
}

/* A one-question query packet.  Returns its length. */
static inline size_t u_query(uint8_t *buf, uint16_t id, uint16_t flags, const char *qname,
                             uint16_t qtype, uint16_t qclass)
{
	size_t len = u_header(buf, id, flags, 1, 0, 0, 0);
	len += u_name(qname, buf + len);
	wire_write_u16(buf + len, qtype);
	wire_write_u16(buf + len + 2, qclass);
	return len + 4;
}

/* Appends an OPT record (root owner, no options) and bumps ARCOUNT.  Returns the new length. */
static inline size_t u_add_opt(uint8_t *buf, size_t len, uint16_t payload, uint8_t version,
                               bool do_bit)
{
	uint8_t *p = buf + len;
	p[0] = 0;
	wire_write_u16(p + 1, DNS_TYPE_OPT);
	wire_write_u16(p + 3, payload);
	p[5] = 0;                 /* extended rcode */
	p[6] = version;
	wire_write_u16(p + 7, do_bit ? 0x8000 : 0);
	wire_write_u16(p + 9, 0);
	wire_write_u16(buf + 10, (uint16_t)(wire_read_u16(buf + 10) + 1));
	return len + 11;
}
