#include "dns/dname.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "dns/wire.h"

static inline uint8_t ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

int dname_wire_length(const uint8_t *name, size_t maxlen)
{
	size_t pos = 0;
	for (;;) {
		if (pos >= maxlen) {
			return CD_EMALF;
		}
		uint8_t len = name[pos];
		if (len > DNS_MAX_LABEL) {
			return CD_EMALF;
		}
		pos += 1 + len;
		if (pos > DNS_MAX_NAME) {
			return CD_EMALF;
		}
		if (len == 0) {
			return (int)pos;
		}
	}
}

int dname_unpack(const uint8_t *pkt, size_t pktlen, size_t *pos, uint8_t out[255])
{
	size_t p = *pos;
	size_t end = 0;          /* where the caller continues: after the first pointer */
	size_t limit = p;        /* pointers must go strictly below this offset */
	size_t outlen = 0;
	for (;;) {
		if (p >= pktlen) {
			return CD_EMALF;
		}
		uint8_t len = pkt[p];
		if ((len & 0xC0) == 0xC0) {
			if (p + 1 >= pktlen) {
				return CD_EMALF;
			}
			size_t target = ((size_t)(len & 0x3F) << 8) | pkt[p + 1];
			if (end == 0) {
				end = p + 2;
			}
			if (target >= limit) {
				return CD_EMALF;
			}
			limit = target;
			p = target;
			continue;
		}
		if (len > DNS_MAX_LABEL) {
			return CD_EMALF;   /* 0x40 and 0x80 label types are obsolete */
		}
		if (p + 1 + len > pktlen || outlen + 1 + len > DNS_MAX_NAME) {
			return CD_EMALF;
		}
		memcpy(out + outlen, pkt + p, 1 + (size_t)len);
		outlen += 1 + (size_t)len;
		p += 1 + (size_t)len;
		if (len == 0) {
			break;
		}
	}
	*pos = end ? end : p;
	return (int)outlen;
}

int dname_label_count(const uint8_t *name)
{
	int n = 0;
	while (*name != 0) {
		name += 1 + *name;
		n++;
	}
	return n;
}

bool dname_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b) {
			return false;
		}
		uint8_t len = *a;
		if (len == 0) {
			return true;
		}
		for (uint8_t i = 1; i <= len; i++) {
			if (ascii_lower(a[i]) != ascii_lower(b[i])) {
				return false;
			}
		}
		a += 1 + len;
		b += 1 + len;
	}
}

const uint8_t *dname_skip_labels(const uint8_t *name, int skip)
{
	while (skip-- > 0 && *name != 0) {
		name += 1 + *name;
	}
	return name;
}

bool dname_is_subdomain(const uint8_t *name, const uint8_t *apex)
{
	int diff = dname_label_count(name) - dname_label_count(apex);
	if (diff < 0) {
		return false;
	}
	return dname_equal(dname_skip_labels(name, diff), apex);
}

size_t dname_to_key(const uint8_t *name, uint8_t *key)
{
	const uint8_t *labels[DNS_MAX_NAME / 2 + 1];
	int count = 0;
	for (const uint8_t *p = name; *p != 0; p += 1 + *p) {
		labels[count++] = p;
	}
	size_t k = 0;
	for (int i = count - 1; i >= 0; i--) {
		const uint8_t *label = labels[i];
		for (uint8_t j = 1; j <= label[0]; j++) {
			uint8_t c = ascii_lower(label[j]);
			if (c <= 0x01) {
				key[k++] = 0x01;
				key[k++] = (uint8_t)(c + 1);
			} else {
				key[k++] = c;
			}
		}
		key[k++] = 0x00;
	}
	return k;
}

int dname_from_key(const uint8_t *key, size_t keylen, uint8_t out[255])
{
	/* Decode labels root-first into a scratch buffer, then reverse their order. */
	uint8_t labels[DNS_MAX_NAME];
	size_t starts[DNS_MAX_NAME / 2 + 1];
	int count = 0;
	size_t used = 0;
	size_t i = 0;
	while (i < keylen) {
		if (used >= DNS_MAX_NAME) {
			return CD_EMALF;
		}
		starts[count] = used;
		labels[used++] = 0;   /* length, filled in below */
		while (i < keylen && key[i] != 0x00) {
			uint8_t c = key[i++];
			if (c == 0x01) {
				if (i >= keylen || key[i] < 0x01 || key[i] > 0x02) {
					return CD_EMALF;
				}
				c = (uint8_t)(key[i++] - 1);
			}
			if (used >= DNS_MAX_NAME) {
				return CD_EMALF;
			}
			labels[used++] = c;
		}
		if (i >= keylen) {
			return CD_EMALF;   /* every label ends with a terminator */
		}
		i++;
		size_t len = used - starts[count] - 1;
		if (len == 0 || len > DNS_MAX_LABEL) {
			return CD_EMALF;
		}
		labels[starts[count]] = (uint8_t)len;
		count++;
	}
	if (used + 1 > DNS_MAX_NAME) {
		return CD_EMALF;
	}
	size_t o = 0;
	for (int l = count - 1; l >= 0; l--) {
		size_t n = (size_t)labels[starts[l]] + 1;
		memcpy(out + o, labels + starts[l], n);
		o += n;
	}
	out[o++] = 0;
	return (int)o;
}

void dname_to_lower(uint8_t *name)
{
	while (*name != 0) {
		uint8_t len = *name;
		for (uint8_t i = 1; i <= len; i++) {
			name[i] = ascii_lower(name[i]);
		}
		name += 1 + len;
	}
}

int dname_to_str(const uint8_t *name, char *out, size_t outlen)
{
	size_t o = 0;
	if (outlen == 0) {
		return CD_ESPACE;
	}
	if (*name == 0) {
		if (outlen < 2) {
			out[0] = '\0';
			return CD_ESPACE;
		}
		out[0] = '.';
		out[1] = '\0';
		return CD_OK;
	}
	while (*name != 0) {
		uint8_t len = *name;
		for (uint8_t i = 1; i <= len; i++) {
			uint8_t c = name[i];
			char tmp[5];
			size_t n;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' ||
			    c == '@' || c == '$') {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				n = 2;
			} else if (c <= 0x20 || c >= 0x7F) {
				snprintf(tmp, sizeof(tmp), "\\%03u", c);
				n = 4;
			} else {
				tmp[0] = (char)c;
				n = 1;
			}
			if (o + n + 2 > outlen) {
				out[o] = '\0';
				return CD_ESPACE;
			}
			memcpy(out + o, tmp, n);
			o += n;
		}
		out[o++] = '.';
		name += 1 + len;
	}
	out[o] = '\0';
	return CD_OK;
}
