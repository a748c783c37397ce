#pragma once
/*
 * An independent structural check of a DNS message, for the fuzz targets:
 * every name well formed (labels <= 63, names <= 255 bytes, compression
 * pointers only to earlier bytes), every RR inside the message, the counts
 * in the header exactly consumed and nothing after.  Records where each
 * section starts so targets can compare sections.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint16_t id, flags;
	uint16_t count[4];         /* QD, AN, NS, AR */
	size_t section[5];         /* offsets: question, answer, authority, additional, end */
	size_t opt_at;             /* offset of an OPT RR, 0 when none */
	bool opt_last;             /* the OPT is the last RR */
	unsigned tsig_count;       /* TSIG RRs anywhere */
	bool tsig_last;            /* the last RR is a TSIG in the additional section */
} dns_check_t;

/* Walks a name at *pos; returns false when malformed.  Compression pointers must point backwards. */
static inline bool dns_check_name(const uint8_t *m, size_t len, size_t *pos)
{
	size_t p = *pos;
	size_t total = 0;
	bool jumped = false;
	size_t limit = p;          /* a pointer must go before where its name started */
	for (int hops = 0; hops < 128; hops++) {
		if (p >= len) {
			return false;
		}
		uint8_t l = m[p];
		if ((l & 0xC0) == 0xC0) {
			if (p + 2 > len) {
				return false;
			}
			size_t target = ((size_t)(l & 0x3F) << 8) | m[p + 1];
			if (target >= limit) {
				return false;
			}
			if (!jumped) {
				*pos = p + 2;
				jumped = true;
			}
			limit = target;
			p = target;
			continue;
		}
		if ((l & 0xC0) != 0) {
			return false;          /* 0x40 and 0x80 label types are obsolete */
		}
		total += 1 + (size_t)l;
		if (total > 255 || p + 1 + l > len) {
			return false;
		}
		p += 1 + (size_t)l;
		if (l == 0) {
			if (!jumped) {
				*pos = p;
			}
			return true;
		}
	}
	return false;
}

static inline uint16_t dns_check_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Returns true when m[0..len) is a well-formed message; fills c. */
static inline bool dns_check_message(const uint8_t *m, size_t len, dns_check_t *c)
{
	memset(c, 0, sizeof(*c));
	if (len < 12) {
		return false;
	}
	c->id = dns_check_u16(m);
	c->flags = dns_check_u16(m + 2);
	for (int i = 0; i < 4; i++) {
		c->count[i] = dns_check_u16(m + 4 + 2 * i);
	}
	size_t pos = 12;
	c->section[0] = pos;
	for (unsigned i = 0; i < c->count[0]; i++) {
		if (!dns_check_name(m, len, &pos) || pos + 4 > len) {
			return false;
		}
		pos += 4;
	}
	unsigned total_rrs = (unsigned)c->count[1] + c->count[2] + c->count[3];
	unsigned seen = 0;
	for (int s = 1; s <= 3; s++) {
		c->section[s] = pos;
		for (unsigned i = 0; i < c->count[s]; i++, seen++) {
			size_t owner = pos;
			if (!dns_check_name(m, len, &pos) || pos + 10 > len) {
				return false;
			}
			uint16_t type = dns_check_u16(m + pos);
			uint16_t rdlen = dns_check_u16(m + pos + 8);
			pos += 10;
			if (pos + rdlen > len) {
				return false;
			}
			if (type == 250) {
				c->tsig_count++;
				c->tsig_last = s == 3 && seen + 1 == total_rrs;
			}
			if (type == 41) {
				if (s != 3 || c->opt_at != 0 || m[owner] != 0) {
					return false;   /* one OPT, in additional, owned by the root */
				}
				c->opt_at = owner;
				c->opt_last = seen + 1 == total_rrs;
			}
			pos += rdlen;
		}
	}
	c->section[4] = pos;
	return pos == len;
}
