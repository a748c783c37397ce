#include "db/zone_builder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "db/journal.h"
#include "db/node.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/wire.h"

/* One added RR in the arena: this header, then rel key, owner name, rdata. */
typedef struct {
	uint32_t line;
	uint32_t ttl;
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlen;
	uint16_t keylen;
	uint8_t ownerlen;
} rec_t;

struct zone_builder {
	uint8_t apex[DNS_MAX_NAME];
	size_t apex_len;
	int apex_labels;
	size_t apex_keylen;     /* length of the apex's lookup key */
	uint8_t *arena;
	size_t arena_used, arena_cap;
	size_t *recs;           /* offsets into the arena */
	size_t count, cap;
	zone_builder_report_cb report;
	void *report_ctx;
	zone_builder_progress_cb progress;
	void *progress_ctx;
	int errors;
	bool create_only;
};

static inline const rec_t *rec_at(const zone_builder_t *zb, size_t i)
{
	return (const rec_t *)(zb->arena + zb->recs[i]);
}
static inline const uint8_t *rec_key(const rec_t *r)   { return (const uint8_t *)(r + 1); }
static inline const uint8_t *rec_owner(const rec_t *r) { return rec_key(r) + r->keylen; }
static inline const uint8_t *rec_rdata(const rec_t *r) { return rec_owner(r) + r->ownerlen; }

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap) {
		return CD_OK;
	}
	size_t ncap = *cap ? *cap : 4096;
	while (ncap < need) {
		ncap *= 2;
	}
	void *n = realloc(*buf, ncap * elem);
	if (n == NULL) {
		return CD_ENOMEM;
	}
	*buf = n;
	*cap = ncap;
	return CD_OK;
}

zone_builder_t *zone_builder_new(const uint8_t *apex)
{
	int len = dname_wire_length(apex, DNS_MAX_NAME);
	if (len < 0) {
		return NULL;
	}
	zone_builder_t *zb = calloc(1, sizeof(*zb));
	if (zb == NULL) {
		return NULL;
	}
	memcpy(zb->apex, apex, (size_t)len);
	zb->apex_len = (size_t)len;
	zb->apex_labels = dname_label_count(apex);
	uint8_t apex_key[DNAME_KEY_MAX];
	zb->apex_keylen = dname_to_key(apex, apex_key);
	return zb;
}

void zone_builder_free(zone_builder_t *zb)
{
	if (zb == NULL) {
		return;
	}
	free(zb->arena);
	free(zb->recs);
	free(zb);
}

void zone_builder_set_report(zone_builder_t *zb, zone_builder_report_cb cb, void *ctx)
{
	zb->report = cb;
	zb->report_ctx = ctx;
}

void zone_builder_set_progress(zone_builder_t *zb, zone_builder_progress_cb cb, void *ctx)
{
	zb->progress = cb;
	zb->progress_ctx = ctx;
}

void zone_builder_set_create_only(zone_builder_t *zb, bool create_only)
{
	zb->create_only = create_only;
}

int zone_builder_reserve(zone_builder_t *zb, size_t records, size_t bytes)
{
	if (grow((void **)&zb->arena, &zb->arena_cap, bytes, 1) != CD_OK ||
	    grow((void **)&zb->recs, &zb->cap, records, sizeof(size_t)) != CD_OK) {
		return CD_ENOMEM;
	}
	return CD_OK;
}

size_t zone_builder_count(const zone_builder_t *zb)
{
	return zb->count;
}

__attribute__((format(printf, 4, 5)))
static void report(zone_builder_t *zb, bool is_error, unsigned line, const char *fmt, ...)
{
	if (is_error) {
		zb->errors++;
	}
	if (zb->report == NULL) {
		return;
	}
	char msg[DNAME_STR_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	zb->report(zb->report_ctx, is_error, line, msg);
}

int zone_builder_add(zone_builder_t *zb, const uint8_t *owner, uint16_t type, uint16_t rclass,
                     uint32_t ttl, const uint8_t *rdata, size_t rdlen, unsigned line)
{
	int owner_len = dname_wire_length(owner, DNS_MAX_NAME);
	if (owner_len < 0 || rdlen > 65535) {
		return CD_EINVAL;
	}
	int extra = dname_label_count(owner) - zb->apex_labels;
	if (extra < 0 || !dname_equal(dname_skip_labels(owner, extra), zb->apex)) {
		return CD_ENOZONE;
	}
	uint8_t full_key[DNAME_KEY_MAX];
	size_t full_len = dname_to_key(owner, full_key);
	size_t apex_key_len = zb->apex_keylen;
	size_t keylen = full_len - apex_key_len;

	size_t size = sizeof(rec_t) + keylen + (size_t)owner_len + rdlen;
	size = (size + _Alignof(rec_t) - 1) & ~(size_t)(_Alignof(rec_t) - 1);
	if (grow((void **)&zb->arena, &zb->arena_cap, zb->arena_used + size, 1) != CD_OK ||
	    grow((void **)&zb->recs, &zb->cap, zb->count + 1, sizeof(size_t)) != CD_OK) {
		return CD_ENOMEM;
	}
	rec_t *r = (rec_t *)(zb->arena + zb->arena_used);
	r->line = line;
	r->ttl = ttl;
	r->type = type;
	r->rclass = rclass;
	r->rdlen = (uint16_t)rdlen;
	r->keylen = (uint16_t)keylen;
	r->ownerlen = (uint8_t)owner_len;
	uint8_t *p = (uint8_t *)(r + 1);
	memcpy(p, full_key + apex_key_len, keylen);
	memcpy(p + keylen, owner, (size_t)owner_len);
	if (rdlen > 0) {
		memcpy(p + keylen + (size_t)owner_len, rdata, rdlen);
	}
	zb->recs[zb->count++] = zb->arena_used;
	zb->arena_used += size;
	return CD_OK;
}

static int cmp_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c != 0) {
		return c;
	}
	return (alen > blen) - (alen < blen);
}

static int cmp_name(const rec_t *a, const rec_t *b)
{
	return cmp_bytes(rec_key(a), a->keylen, rec_key(b), b->keylen);
}

/* Canonical order: owner, then type, then rdata (RFC 4034 6.3). */
static int cmp_rec(const void *pa, const void *pb, void *arg)
{
	const uint8_t *arena = arg;
	const rec_t *a = (const rec_t *)(arena + *(const size_t *)pa);
	const rec_t *b = (const rec_t *)(arena + *(const size_t *)pb);
	int c = cmp_name(a, b);
	if (c != 0) {
		return c;
	}
	if (a->type != b->type) {
		return a->type < b->type ? -1 : 1;
	}
	return cmp_bytes(rec_rdata(a), a->rdlen, rec_rdata(b), b->rdlen);
}

static bool rec_same_rr(const rec_t *a, const rec_t *b)
{
	return a->type == b->type && cmp_name(a, b) == 0 &&
	       cmp_bytes(rec_rdata(a), a->rdlen, rec_rdata(b), b->rdlen) == 0;
}

/* State carried through the canonical-order walk. */
typedef struct {
	const uint8_t *cut_key;      /* rel key of the zone cut we are below, or NULL */
	size_t cut_keylen;
	const uint8_t *cut_owner;
	const uint8_t *dname_key;     /* rel key of the DNAME we are below, or NULL */
	size_t dname_keylen;
	const uint8_t *dname_owner;
	uint8_t soa_class_set;
	uint16_t zone_class;
	uint32_t serial;
	bool have_soa;
	uint8_t *value;              /* node value being encoded */
	size_t value_len, value_cap;
} walk_t;

static bool type_allowed_at_cut(uint16_t type)
{
	return type == DNS_TYPE_NS || type == DNS_TYPE_DS || type == DNS_TYPE_A ||
	       type == DNS_TYPE_AAAA || type == DNS_TYPE_RRSIG || type == DNS_TYPE_NSEC;
}

static bool type_allowed_beside_cname(uint16_t type)
{
	return type == DNS_TYPE_CNAME || type == DNS_TYPE_RRSIG || type == DNS_TYPE_NSEC;
}

static const char *type_name(uint16_t type, char *buf, size_t len)
{
	switch (type) {
	case DNS_TYPE_A: return "A";
	case DNS_TYPE_NS: return "NS";
	case DNS_TYPE_CNAME: return "CNAME";
	case DNS_TYPE_SOA: return "SOA";
	case DNS_TYPE_MX: return "MX";
	case DNS_TYPE_TXT: return "TXT";
	case DNS_TYPE_AAAA: return "AAAA";
	case DNS_TYPE_SRV: return "SRV";
	case DNS_TYPE_DS: return "DS";
	case DNS_TYPE_CAA: return "CAA";
	default:
		snprintf(buf, len, "TYPE%u", type);
		return buf;
	}
}

/* A name in presentation form for messages, converted only when one is made. */
typedef struct {
	const uint8_t *wire;
	char text[DNAME_STR_MAX];
} lazy_name_t;

static const char *lazy_name(lazy_name_t *n)
{
	if (n->text[0] == '\0') {
		dname_to_str(n->wire, n->text, sizeof(n->text));
	}
	return n->text;
}

/*
 * Checks one owner's records [first, end) and, when write is set, encodes its
 * node into w->value.  Returns CD_ENOMEM or 0 (rule violations are counted in
 * zb->errors).
 */
static int walk_node(zone_builder_t *zb, walk_t *w, size_t first, size_t end, uint8_t *flags)
{
	const rec_t *head = rec_at(zb, first);
	char tbuf[16];
	lazy_name_t owner;   /* not zeroed as a whole: this runs once per name */
	owner.wire = rec_owner(head);
	owner.text[0] = '\0';
	bool is_apex = head->keylen == 0;

	/* Where are we relative to the last zone cut? */
	bool occluded = false;
	if (w->cut_key != NULL && head->keylen > w->cut_keylen &&
	    memcmp(rec_key(head), w->cut_key, w->cut_keylen) == 0) {
		occluded = true;
	} else {
		w->cut_key = NULL;
	}

	/* RFC 6672 2.4: nothing may live below a DNAME. */
	if (w->dname_key != NULL && head->keylen > w->dname_keylen &&
	    memcmp(rec_key(head), w->dname_key, w->dname_keylen) == 0) {
		char dn[DNAME_STR_MAX];
		dname_to_str(w->dname_owner, dn, sizeof(dn));
		report(zb, true, head->line, "%s: no records may exist below the DNAME at %s "
		       "(RFC 6672 2.4)", lazy_name(&owner), dn);
	} else {
		w->dname_key = NULL;
	}

	bool has_ns = false, has_cname = false, has_other = false;
	size_t cname_count = 0, dname_count = 0;
	uint16_t other_type = 0;
	for (size_t i = first; i < end; i++) {
		const rec_t *r = rec_at(zb, i);
		if (i > first && rec_same_rr(r, rec_at(zb, i - 1))) {
			continue;
		}
		if (r->type == DNS_TYPE_DNAME) {
			dname_count++;
			if (w->dname_key == NULL) {
				w->dname_key = rec_key(head);
				w->dname_keylen = head->keylen;
				w->dname_owner = rec_owner(head);
			}
		}
		if (r->type == DNS_TYPE_NS) {
			has_ns = true;
		} else if (r->type == DNS_TYPE_CNAME) {
			has_cname = true;
			cname_count++;
		} else if (!type_allowed_beside_cname(r->type) && !has_other) {
			has_other = true;
			other_type = r->type;
		}
		if (r->type == DNS_TYPE_SOA && !is_apex) {
			report(zb, true, r->line, "%s: SOA record is only allowed at the zone apex",
			       lazy_name(&owner));
		}
		if (w->soa_class_set && r->rclass != w->zone_class) {
			report(zb, true, r->line, "%s: record class %u differs from the zone's class %u",
			       lazy_name(&owner), r->rclass, w->zone_class);
		}
	}
	if (has_ns) {
		has_other = true;
		if (other_type == 0) {
			other_type = DNS_TYPE_NS;
		}
	}
	if (has_cname && has_other) {
		report(zb, true, head->line,
		       "%s: CNAME and other data (%s) at the same name (RFC 1034 3.6.2)",
		       lazy_name(&owner), type_name(other_type, tbuf, sizeof(tbuf)));
	}
	if (cname_count > 1) {
		report(zb, true, head->line, "%s: more than one CNAME record at one name", lazy_name(&owner));
	}
	if (dname_count > 1) {
		const rec_t *second = head;
		for (size_t i = first, seen = 0; i < end; i++) {
			if (rec_at(zb, i)->type == DNS_TYPE_DNAME && ++seen == 2) {
				second = rec_at(zb, i);
			}
		}
		report(zb, true, second->line, "%s: more than one DNAME record at one name "
		       "(RFC 6672 2.4)", lazy_name(&owner));
	}

	*flags = 0;
	if (occluded) {
		*flags |= NODE_OCCLUDED;
		char cut_str[DNAME_STR_MAX];
		dname_to_str(w->cut_owner, cut_str, sizeof(cut_str));
		for (size_t i = first; i < end; i++) {
			const rec_t *r = rec_at(zb, i);
			if (r->type != DNS_TYPE_A && r->type != DNS_TYPE_AAAA) {
				report(zb, true, r->line,
				       "%s: %s record below the delegation at %s is not glue; "
				       "only A and AAAA may live there", lazy_name(&owner),
				       type_name(r->type, tbuf, sizeof(tbuf)), cut_str);
				break;
			}
		}
	} else if (has_ns && !is_apex) {
		*flags |= NODE_DELEG;
		w->cut_key = rec_key(head);
		w->cut_keylen = head->keylen;
		w->cut_owner = rec_owner(head);
		for (size_t i = first; i < end; i++) {
			const rec_t *r = rec_at(zb, i);
			if (!type_allowed_at_cut(r->type)) {
				report(zb, true, r->line,
				       "%s: %s record at a delegation point is occluded by its NS records",
				       lazy_name(&owner), type_name(r->type, tbuf, sizeof(tbuf)));
				break;
			}
		}
	}

	/* Encode: flags, owner, then one RRset per type. */
	size_t need = 2 + head->ownerlen;
	for (size_t i = first; i < end; i++) {
		need += RRSET_HEADER_SIZE + 2 + rec_at(zb, i)->rdlen;
	}
	if (grow((void **)&w->value, &w->value_cap, need, 1) != CD_OK) {
		return CD_ENOMEM;
	}
	node_writer_t nw;
	node_writer_begin(&nw, w->value, *flags, rec_owner(head), head->ownerlen);
	size_t i = first;
	while (i < end) {
		const rec_t *r = rec_at(zb, i);
		uint16_t type = r->type;
		uint32_t ttl = r->ttl;
		bool ttl_warned = false;
		node_writer_rrset_begin(&nw, type, r->rclass, ttl);
		size_t j = i;
		for (; j < end && rec_at(zb, j)->type == type; j++) {
			const rec_t *x = rec_at(zb, j);
			if (x->ttl < ttl) {
				ttl = x->ttl;
				node_writer_rrset_ttl(&nw, ttl);
			}
			if (j > i && rec_same_rr(x, rec_at(zb, j - 1))) {
				continue;
			}
			if (x->ttl != r->ttl && !ttl_warned) {
				report(zb, false, x->line,
				       "%s %s: records of one RRset have different TTLs; "
				       "serving all with the lowest (RFC 2181 5.2)", lazy_name(&owner),
				       type_name(type, tbuf, sizeof(tbuf)));
				ttl_warned = true;
			}
			node_writer_rr(&nw, rec_rdata(x), x->rdlen);
		}
		if (!node_writer_rrset_end(&nw)) {
			report(zb, true, r->line, "%s %s: RRset is larger than 65535 bytes",
			       lazy_name(&owner), type_name(type, tbuf, sizeof(tbuf)));
		}
		if (type == DNS_TYPE_SOA && is_apex) {
			if (j - i > 1 && !rec_same_rr(rec_at(zb, i), rec_at(zb, j - 1))) {
				report(zb, true, r->line, "%s: the zone has more than one SOA record",
				       lazy_name(&owner));
			}
			uint32_t serial;
			if (soa_rdata_serial(rec_rdata(r), r->rdlen, &serial) != CD_OK) {
				report(zb, true, r->line, "%s: malformed SOA rdata", lazy_name(&owner));
			} else {
				w->serial = serial;
				w->have_soa = true;
			}
		}
		i = j;
	}
	w->value_len = node_writer_len(&nw);
	return CD_OK;
}

/* Walks all nodes in order, writing each through cursor until a rule is broken. */
static int walk_zone(zone_builder_t *zb, walk_t *w, MDB_cursor *cursor, uint32_t zone_id,
                     size_t *names)
{
	*names = 0;
	size_t i = 0;
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	while (i < zb->count) {
		size_t end = i + 1;
		while (end < zb->count && cmp_name(rec_at(zb, i), rec_at(zb, end)) == 0) {
			end++;
		}
		uint8_t flags;
		int ret = walk_node(zb, w, i, end, &flags);
		if (ret != CD_OK) {
			return ret;
		}
		if (zb->errors == 0) {
			const rec_t *head = rec_at(zb, i);
			memcpy(key + 4, rec_key(head), head->keylen);
			MDB_val k = { .mv_size = 4 + (size_t)head->keylen, .mv_data = key };
			MDB_val v = { .mv_size = w->value_len, .mv_data = w->value };
			int rc = mdb_cursor_put(cursor, &k, &v, MDB_APPEND);
			if (rc != MDB_SUCCESS) {
				return db_write_error(mdb_cursor_txn(cursor), rc, "writing zone data");
			}
			if (zb->progress != NULL && (*names & 0x3FFF) == 0) {
				zb->progress(zb->progress_ctx, end, zb->count);
			}
		}
		(*names)++;
		i = end;
	}
	if (zb->errors == 0 && zb->progress != NULL) {
		zb->progress(zb->progress_ctx, zb->count, zb->count);
	}
	return CD_OK;
}

static void find_zone_class(zone_builder_t *zb, walk_t *w)
{
	for (size_t i = 0; i < zb->count && rec_at(zb, i)->keylen == 0; i++) {
		if (rec_at(zb, i)->type == DNS_TYPE_SOA) {
			w->zone_class = rec_at(zb, i)->rclass;
			w->soa_class_set = 1;
			return;
		}
	}
}

/*
 * Sorting a million records by key: each entry carries the first 8 bytes of
 * its key as a big-endian number, so most comparisons are one integer compare
 * on data already in cache instead of a walk into the arena.  Zero padding
 * keeps the order of the full keys, because a key never holds two 0x00 bytes
 * in a row (0x00 only ends a label; label bytes 0x00 are escaped).
 */
typedef struct {
	uint64_t prefix;
	size_t off;
} sort_entry_t;

static int cmp_sort_entry(const void *pa, const void *pb, void *arena)
{
	const sort_entry_t *a = pa, *b = pb;
	if (a->prefix != b->prefix) {
		return a->prefix < b->prefix ? -1 : 1;
	}
	return cmp_rec(&a->off, &b->off, arena);
}

static bool is_sorted(const zone_builder_t *zb)
{
	for (size_t i = 1; i < zb->count; i++) {
		if (cmp_rec(&zb->recs[i - 1], &zb->recs[i], zb->arena) > 0) {
			return false;
		}
	}
	return true;
}

/* Puts the records into canonical order.  Returns 0 or CD_ENOMEM. */
static int sort_records(zone_builder_t *zb)
{
	if (is_sorted(zb)) {
		return CD_OK;   /* e.g. a file written by zone export */
	}
	sort_entry_t *v = malloc(zb->count * sizeof(*v));
	if (v == NULL) {
		return CD_ENOMEM;
	}
	for (size_t i = 0; i < zb->count; i++) {
		const rec_t *r = rec_at(zb, i);
		const uint8_t *key = rec_key(r);
		uint64_t prefix = 0;
		for (size_t j = 0; j < 8; j++) {
			prefix = prefix << 8 | (j < r->keylen ? key[j] : 0);
		}
		v[i] = (sort_entry_t){ .prefix = prefix, .off = zb->recs[i] };
	}
	qsort_r(v, zb->count, sizeof(*v), cmp_sort_entry, zb->arena);
	for (size_t i = 0; i < zb->count; i++) {
		zb->recs[i] = v[i].off;
	}
	free(v);
	return CD_OK;
}

int zone_builder_commit(zone_builder_t *zb, db_t *db, zone_builder_stats_t *stats)
{
	memset(stats, 0, sizeof(*stats));
	int ret = sort_records(zb);
	if (ret != CD_OK) {
		return ret;
	}
	for (size_t i = 1; i < zb->count; i++) {
		if (rec_same_rr(rec_at(zb, i), rec_at(zb, i - 1))) {
			stats->duplicates++;
		}
	}
	stats->records = zb->count - stats->duplicates;

	/* One pass checks the rules and writes each node; the first violation
	 * stops the writing, the walk goes on to report every other one, and the
	 * transaction is then aborted. */
	walk_t w = { 0 };
	size_t names = 0;
	MDB_txn *txn = NULL;
	ret = db_write_begin(db, &txn);
	if (ret != CD_OK) {
		goto out;
	}
	zone_acl_entry_t acl[ZONE_ACL_MAX];
	unsigned acl_count = 0;
	uint32_t old_id = 0;
	zone_record_t old;
	if (zone_store_get(db, txn, zb->apex, &old) == CD_OK) {
		if (zb->create_only) {
			ret = CD_EEXISTS;
			goto abort;
		}
		old_id = old.id;
		acl_count = old.acl_count;
		for (unsigned i = 0; i < acl_count; i++) {
			zone_acl_get(&old, i, &acl[i]);
		}
	}
	uint32_t id;
	ret = db_alloc_zone_id(db, txn, &id);
	if (ret != CD_OK) {
		goto abort;
	}
	MDB_cursor *cursor;
	int rc = mdb_cursor_open(txn, db->names, &cursor);
	if (rc != MDB_SUCCESS) {
		ret = db_error(rc, "opening write cursor");
		goto abort;
	}
	find_zone_class(zb, &w);
	ret = walk_zone(zb, &w, cursor, id, &names);
	mdb_cursor_close(cursor);
	if (ret != CD_OK) {
		goto abort;
	}
	if (!w.have_soa) {
		report(zb, true, 0, "the zone has no SOA record at its apex");
	}
	if (zb->errors > 0) {
		ret = CD_ESEMANTIC;
		goto abort;
	}
	ret = zone_store_put_record(db, txn, zb->apex, id, w.serial, acl, acl_count);
	if (ret != CD_OK) {
		goto abort;
	}
	if (old_id != 0) {
		/* The replaced version goes with its journal: IXFR from it falls back to AXFR. */
		ret = zone_store_delete_nodes(db, txn, old_id);
		if (ret == CD_OK) {
			ret = journal_delete_zone(db, txn, old_id);
		}
		if (ret != CD_OK) {
			goto abort;
		}
	}
	ret = db_write_commit(txn);
	if (ret == CD_OK) {
		stats->names = names;
		stats->serial = w.serial;
		stats->zone_id = id;
	}
	goto out;
abort:
	mdb_txn_abort(txn);
out:
	free(w.value);
	return ret;
}
