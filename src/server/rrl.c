#include "server/rrl.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/error.h"
#include "common/siphash.h"
#include "dns/cookie.h"
#include "dns/dname.h"
#include "dns/wire.h"

#define RRL_WAYS 4                 /* a key may live in any of 4 neighbouring buckets */
#define RRL_MS_PER_S 1000

/* What an answer is counted as; part of the bucket key. */
enum {
	RRL_CLASS_POSITIVE = 1,
	RRL_CLASS_NODATA,
	RRL_CLASS_WILDCARD,
	RRL_CLASS_NXDOMAIN,
	RRL_CLASS_REFERRAL,
	RRL_CLASS_ERROR,
};

typedef struct {
	uint32_t tag;       /* the upper half of the key's hash, never 0; 0: free bucket */
	uint32_t stamp;     /* the clock (ms, wrapping) when credit was last refilled */
	uint32_t credit;    /* an answer costs t->cost */
	uint16_t limited;   /* answers refused so far, for the slip */
	uint16_t unused;
} rrl_bucket_t;

struct rrl_table {
	uint8_t key[SIPHASH_KEY_SIZE];
	uint32_t rate;       /* credit refilled per millisecond */
	uint32_t cost;       /* credit per answer: 1000 x workers, so a worker grants rate/workers per s */
	uint32_t capacity;   /* one second of the rate */
	unsigned slip;
	unsigned ipv4_prefix;
	unsigned ipv6_prefix;
	rrl_bucket_t buckets[RRL_TABLE_BUCKETS];
};

int rrl_create(const rrl_config_t *cfg, rrl_table_t **out)
{
	rrl_table_t *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return CD_ENOMEM;
	}
	if (getrandom(t->key, sizeof(t->key), 0) != (ssize_t)sizeof(t->key)) {
		free(t);
		return CD_EIO;
	}
	unsigned workers = cfg->workers > 0 ? cfg->workers : 1;
	t->rate = cfg->rate;
	t->cost = RRL_MS_PER_S * workers;
	t->capacity = cfg->rate * RRL_MS_PER_S;
	if (t->capacity < t->cost) {
		t->capacity = t->cost;   /* a rate below one per worker still grants one answer */
	}
	t->slip = cfg->slip;
	t->ipv4_prefix = cfg->ipv4_prefix;
	t->ipv6_prefix = cfg->ipv6_prefix;
	*out = t;
	return CD_OK;
}

void rrl_destroy(rrl_table_t *t)
{
	free(t);
}

/* Appends the family and the network part of the address.  Returns the bytes written. */
static size_t put_network(uint8_t *k, const rrl_table_t *t, const struct sockaddr *peer)
{
	const uint8_t *addr;
	size_t bytes;
	unsigned prefix;
	if (peer->sa_family == AF_INET6) {
		addr = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		bytes = 16;
		prefix = t->ipv6_prefix;
	} else {
		addr = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		bytes = 4;
		prefix = t->ipv4_prefix;
	}
	k[0] = (uint8_t)bytes;
	for (size_t i = 0; i < bytes; i++) {
		unsigned bits = prefix > 8 * i ? prefix - 8 * (unsigned)i : 0;
		uint8_t mask = bits >= 8 ? 0xFF : (uint8_t)(0xFF << (8 - bits));
		k[1 + i] = addr[i] & mask;
	}
	return 1 + bytes;
}

/* Appends an uncompressed wire name, lowercased.  Returns the bytes written. */
static size_t put_name(uint8_t *k, const uint8_t *name)
{
	size_t n = 0;
	for (;;) {
		uint8_t l = name[n];
		k[n] = l;
		n++;
		if (l == 0 || n + l > DNS_MAX_NAME) {
			return n;
		}
		for (uint8_t i = 0; i < l; i++, n++) {
			uint8_t c = name[n];
			k[n] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
		}
	}
}

/*
 * The owner of the first authority record of an answer: the SOA's (the zone)
 * in NXDOMAIN, the NS set's (the delegation) in a referral.
 */
static bool authority_owner(const uint8_t *resp, size_t len, uint8_t name[DNS_MAX_NAME])
{
	if (len < DNS_HEADER_SIZE || wire_read_u16(resp + 8) == 0) {
		return false;
	}
	size_t pos = DNS_HEADER_SIZE;
	unsigned qd = wire_read_u16(resp + 4);
	unsigned an = wire_read_u16(resp + 6);
	for (unsigned i = 0; i < qd; i++) {
		if (dname_unpack(resp, len, &pos, name) < 0 || len - pos < 4) {
			return false;
		}
		pos += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		if (dname_unpack(resp, len, &pos, name) < 0 || len - pos < 10) {
			return false;
		}
		pos += 10 + (size_t)wire_read_u16(resp + pos + 8);
		if (pos > len) {
			return false;
		}
	}
	return dname_unpack(resp, len, &pos, name) >= 0;
}

/* Builds the bucket key of an answer.  Returns its length. */
static size_t answer_key(const rrl_table_t *t, uint8_t *k, const struct sockaddr *peer,
                         const dns_query_t *q, const uint8_t *resp, size_t len, uint16_t rcode,
                         const uint8_t *wildcard)
{
	uint8_t owner[DNS_MAX_NAME];
	const uint8_t *name = NULL;
	bool with_type = false;
	uint8_t cls;
	uint16_t flags = wire_read_u16(resp + 2);
	if (!q->has_question || (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN)) {
		cls = RRL_CLASS_ERROR;
	} else if (rcode == DNS_RCODE_NXDOMAIN) {
		cls = RRL_CLASS_NXDOMAIN;
		name = authority_owner(resp, len, owner) ? owner : q->qname;
	} else if (wildcard != NULL) {
		cls = RRL_CLASS_WILDCARD;
		name = wildcard;
		with_type = true;
	} else if (wire_read_u16(resp + 6) > 0) {
		cls = RRL_CLASS_POSITIVE;
		name = q->qname;
		with_type = true;
	} else if (!(flags & DNS_FLAG_AA) && authority_owner(resp, len, owner)) {
		cls = RRL_CLASS_REFERRAL;
		name = owner;
	} else {
		cls = RRL_CLASS_NODATA;
		name = q->qname;
		with_type = true;
	}
	size_t n = 0;
	k[n++] = cls;
	n += put_network(k + n, t, peer);
	if (with_type) {
		wire_write_u16(k + n, q->qtype);
		n += 2;
	}
	if (name != NULL) {
		n += put_name(k + n, name);
	}
	return n;
}

/* The bucket of a key: its own, else a free one, else the least recently used of its set. */
static rrl_bucket_t *find_bucket(rrl_table_t *t, uint64_t hash, uint32_t now, bool *fresh)
{
	uint32_t tag = (uint32_t)(hash >> 32) | 1;
	rrl_bucket_t *set = &t->buckets[(hash & (RRL_TABLE_BUCKETS / RRL_WAYS - 1)) * RRL_WAYS];
	rrl_bucket_t *victim = &set[0];
	for (unsigned i = 0; i < RRL_WAYS; i++) {
		if (set[i].tag == tag) {
			*fresh = false;
			return &set[i];
		}
		if (victim->tag != 0 &&
		    (set[i].tag == 0 || now - set[i].stamp > now - victim->stamp)) {
			victim = &set[i];
		}
	}
	*fresh = true;
	victim->tag = tag;
	return victim;
}

rrl_action_t rrl_charge(rrl_table_t *t, const struct sockaddr *peer, const dns_query_t *q,
                        const uint8_t *resp, size_t len, uint16_t rcode, const uint8_t *wildcard,
                        uint64_t now_ms)
{
	if (len < DNS_HEADER_SIZE) {
		return RRL_SEND;
	}
	uint8_t key[1 + 1 + 16 + 2 + DNS_MAX_NAME];
	size_t klen = answer_key(t, key, peer, q, resp, len, rcode, wildcard);
	uint32_t now = (uint32_t)now_ms;
	bool fresh;
	rrl_bucket_t *b = find_bucket(t, siphash24(t->key, key, klen), now, &fresh);
	if (fresh) {
		b->stamp = now;
		b->credit = t->capacity;
		b->limited = 0;
	} else {
		uint32_t elapsed = now - b->stamp;
		if (elapsed > 0) {
			uint64_t credit = b->credit + (uint64_t)elapsed * t->rate;
			b->credit = credit > t->capacity ? t->capacity : (uint32_t)credit;
			b->stamp = now;
		}
	}
	if (b->credit >= t->cost) {
		b->credit -= t->cost;
		return RRL_SEND;
	}
	b->limited++;
	return (t->slip != 0 && b->limited % t->slip == 0) ? RRL_SLIP : RRL_DROP;
}

size_t rrl_slip(uint8_t *resp, size_t len, bool badcookie)
{
	if (len < DNS_HEADER_SIZE) {
		return len;
	}
	uint8_t name[DNS_MAX_NAME];
	size_t pos = DNS_HEADER_SIZE;
	unsigned qd = wire_read_u16(resp + 4);
	unsigned rrs = (unsigned)wire_read_u16(resp + 6) + wire_read_u16(resp + 8) +
	               wire_read_u16(resp + 10);
	for (unsigned i = 0; i < qd; i++) {
		if (dname_unpack(resp, len, &pos, name) < 0 || len - pos < 4) {
			pos = DNS_HEADER_SIZE;   /* cannot happen with our answers: keep the bare header */
			wire_write_u16(resp + 4, 0);
			rrs = 0;
			break;
		}
		pos += 4;
	}
	size_t end = pos;   /* of the question */
	size_t opt = 0, opt_len = 0;
	for (unsigned i = 0; i < rrs; i++) {
		size_t start = pos;
		if (dname_unpack(resp, len, &pos, name) < 0 || len - pos < 10) {
			break;
		}
		uint16_t type = wire_read_u16(resp + pos);
		pos += 10 + (size_t)wire_read_u16(resp + pos + 8);
		if (pos > len) {
			break;
		}
		if (type == DNS_TYPE_OPT) {
			opt = start;
			opt_len = pos - start;
			break;
		}
	}
	memmove(resp + end, resp + opt, opt_len);
	wire_write_u16(resp + 6, 0);
	wire_write_u16(resp + 8, 0);
	wire_write_u16(resp + 10, opt_len > 0 ? 1 : 0);
	len = end + opt_len;
	if (!(badcookie && opt_len > 0 && cookie_set_badcookie(resp, len))) {
		resp[2] |= DNS_FLAG_TC >> 8;
	}
	return len;
}
