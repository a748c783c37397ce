#include "db/zone_edit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "db/journal.h"
#include "db/node.h"
#include "db/zone_conf.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/wire.h"

typedef struct {
	zone_edit_op_t op;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	unsigned line;
	size_t index;
	uint8_t owner[DNS_MAX_NAME];
	size_t owner_len;
	uint8_t key[DNAME_KEY_MAX];   /* relative to the apex */
	size_t keylen;
	uint8_t *rdata;
	uint16_t rdlen;
} op_t;

typedef struct {
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
} rr_t;

typedef struct {
	rr_t *v;
	size_t n, cap;
} rr_list_t;

/* A name touched by the batch: its RRs before and after. */
typedef struct {
	uint8_t key[DNAME_KEY_MAX];
	size_t keylen;
	uint8_t owner[DNS_MAX_NAME];
	size_t owner_len;
	uint8_t *stored;          /* copy of the stored value: `before` points into it */
	rr_list_t before, after;
	uint16_t replaced[16];    /* types already cleared by a REPLACE in this batch */
	unsigned replaced_n;
	uint8_t old_flags;
	unsigned line;
} tnode_t;

struct zone_edit {
	uint8_t apex[DNS_MAX_NAME];
	size_t apex_len;
	uint8_t apex_key[DNAME_KEY_MAX];
	size_t apex_keylen;
	op_t *ops;
	size_t nops, cap;
	zone_builder_report_cb report;
	void *report_ctx;
	bool missing_ok;
	bool exact_serial;
	uint16_t zone_class;      /* of the apex SOA: every record has it */
	int errors;
	tnode_t *nodes;
	size_t nnodes;
	uint8_t *soa_rdata;       /* the bumped SOA, owned */
};

zone_edit_t *zone_edit_new(const uint8_t *apex)
{
	int len = dname_wire_length(apex, DNS_MAX_NAME);
	if (len < 0) {
		return NULL;
	}
	zone_edit_t *ze = calloc(1, sizeof(*ze));
	if (ze == NULL) {
		return NULL;
	}
	memcpy(ze->apex, apex, (size_t)len);
	ze->apex_len = (size_t)len;
	ze->apex_keylen = dname_to_key(apex, ze->apex_key);
	return ze;
}

static void free_nodes(zone_edit_t *ze)
{
	for (size_t i = 0; i < ze->nnodes; i++) {
		free(ze->nodes[i].stored);
		free(ze->nodes[i].before.v);
		free(ze->nodes[i].after.v);
	}
	free(ze->nodes);
	ze->nodes = NULL;
	ze->nnodes = 0;
	free(ze->soa_rdata);
	ze->soa_rdata = NULL;
}

void zone_edit_free(zone_edit_t *ze)
{
	if (ze == NULL) {
		return;
	}
	for (size_t i = 0; i < ze->nops; i++) {
		free(ze->ops[i].rdata);
	}
	free(ze->ops);
	free_nodes(ze);
	free(ze);
}

void zone_edit_set_report(zone_edit_t *ze, zone_builder_report_cb cb, void *ctx)
{
	ze->report = cb;
	ze->report_ctx = ctx;
}

void zone_edit_set_exact_serial(zone_edit_t *ze, bool exact)
{
	ze->exact_serial = exact;
}

void zone_edit_set_missing_ok(zone_edit_t *ze, bool missing_ok)
{
	ze->missing_ok = missing_ok;
}

size_t zone_edit_count(const zone_edit_t *ze)
{
	return ze->nops;
}

__attribute__((format(printf, 3, 4)))
static void report(zone_edit_t *ze, unsigned line, const char *fmt, ...)
{
	ze->errors++;
	if (ze->report == NULL) {
		return;
	}
	char msg[DNAME_STR_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ze->report(ze->report_ctx, true, line, msg);
}

int zone_edit_add(zone_edit_t *ze, zone_edit_op_t op, const uint8_t *owner, uint16_t type,
                  uint16_t rclass, uint32_t ttl, const uint8_t *rdata, size_t rdlen,
                  unsigned line)
{
	int owner_len = dname_wire_length(owner, DNS_MAX_NAME);
	if (owner_len < 0 || rdlen > 65535) {
		return CD_EINVAL;
	}
	if (!dname_is_subdomain(owner, ze->apex)) {
		return CD_ENOZONE;
	}
	if (ze->nops == ze->cap) {
		size_t ncap = ze->cap ? ze->cap * 2 : 16;
		op_t *n = realloc(ze->ops, ncap * sizeof(*n));
		if (n == NULL) {
			return CD_ENOMEM;
		}
		ze->ops = n;
		ze->cap = ncap;
	}
	op_t *o = &ze->ops[ze->nops];
	memset(o, 0, offsetof(op_t, owner));
	o->op = op;
	o->type = type;
	o->rclass = rclass;
	o->ttl = ttl;
	o->line = line;
	o->index = ze->nops;
	memcpy(o->owner, owner, (size_t)owner_len);
	o->owner_len = (size_t)owner_len;
	uint8_t full[DNAME_KEY_MAX];
	size_t full_len = dname_to_key(owner, full);
	o->keylen = full_len - ze->apex_keylen;
	memcpy(o->key, full + ze->apex_keylen, o->keylen);
	o->rdata = NULL;
	o->rdlen = 0;
	if (op == ZONE_EDIT_ADD || op == ZONE_EDIT_DELETE_RR || op == ZONE_EDIT_REPLACE) {
		o->rdata = malloc(rdlen ? rdlen : 1);
		if (o->rdata == NULL) {
			return CD_ENOMEM;
		}
		if (rdlen > 0) {
			memcpy(o->rdata, rdata, rdlen);
		}
		o->rdlen = (uint16_t)rdlen;
	}
	ze->nops++;
	return CD_OK;
}

static int cmp_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int cmp_op(const void *pa, const void *pb)
{
	const op_t *a = pa, *b = pb;
	int c = cmp_bytes(a->key, a->keylen, b->key, b->keylen);
	if (c != 0) {
		return c;
	}
	return (a->index > b->index) - (a->index < b->index);
}

static int cmp_rr(const void *pa, const void *pb)
{
	const rr_t *a = pa, *b = pb;
	if (a->type != b->type) {
		return a->type < b->type ? -1 : 1;
	}
	return cmp_bytes(a->rdata, a->rdlen, b->rdata, b->rdlen);
}

static bool rr_same(const rr_t *a, const rr_t *b)
{
	return a->type == b->type && cmp_bytes(a->rdata, a->rdlen, b->rdata, b->rdlen) == 0;
}

static int rr_list_push(rr_list_t *l, const rr_t *rr)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		rr_t *n = realloc(l->v, ncap * sizeof(*n));
		if (n == NULL) {
			return CD_ENOMEM;
		}
		l->v = n;
		l->cap = ncap;
	}
	l->v[l->n++] = *rr;
	return CD_OK;
}

static void rr_list_remove(rr_list_t *l, size_t i)
{
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(rr_t));
	l->n--;
}

static bool rr_list_has_type(const rr_list_t *l, uint16_t type)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].type == type) {
			return true;
		}
	}
	return false;
}

/* Reads a stored node into tn->before/after (empty when the name has no node). */
static int load_node(zone_edit_t *ze, db_t *db, MDB_txn *txn, uint32_t zone_id, tnode_t *tn)
{
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	memcpy(key + 4, tn->key, tn->keylen);
	MDB_val k = { .mv_size = 4 + tn->keylen, .mv_data = key }, v;
	int rc = mdb_get(txn, db->names, &k, &v);
	if (rc == MDB_NOTFOUND) {
		return CD_OK;
	}
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "reading zone data");
	}
	(void)ze;
	tn->stored = malloc(v.mv_size);
	if (tn->stored == NULL) {
		return CD_ENOMEM;
	}
	memcpy(tn->stored, v.mv_data, v.mv_size);
	node_t node;
	if (node_decode(tn->stored, v.mv_size, &node) != CD_OK) {
		return CD_EMALF;
	}
	tn->old_flags = node.flags;
	size_t pos = 0;
	rrset_t rrset;
	while (node_next_rrset(&node, &pos, &rrset)) {
		size_t rpos = 0;
		const uint8_t *rdata;
		uint16_t rdlen;
		while (rrset_next_rr(&rrset, &rpos, &rdata, &rdlen)) {
			rr_t rr = { rrset.type, rrset.rclass, rrset.ttl, rdlen, rdata };
			if (rr_list_push(&tn->before, &rr) != CD_OK || rr_list_push(&tn->after, &rr) != CD_OK) {
				return CD_ENOMEM;
			}
		}
	}
	return CD_OK;
}

static const char *type_str(uint16_t type, char *buf, size_t len)
{
	static const struct { uint16_t t; const char *n; } names[] = {
		{ DNS_TYPE_A, "A" }, { DNS_TYPE_NS, "NS" }, { DNS_TYPE_CNAME, "CNAME" },
		{ DNS_TYPE_SOA, "SOA" }, { DNS_TYPE_MX, "MX" }, { DNS_TYPE_TXT, "TXT" },
		{ DNS_TYPE_AAAA, "AAAA" }, { DNS_TYPE_SRV, "SRV" }, { DNS_TYPE_DS, "DS" },
		{ DNS_TYPE_CAA, "CAA" }, { DNS_TYPE_PTR, "PTR" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].t == type) {
			return names[i].n;
		}
	}
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

/* Applies one queued change to the in-memory node. */
static int apply_op(zone_edit_t *ze, tnode_t *tn, const op_t *o)
{
	char name[DNAME_STR_MAX], tb[16];
	rr_t rr = { o->type, o->rclass, o->ttl, o->rdlen, o->rdata };
	rr_list_t *l = &tn->after;
	bool is_apex = tn->keylen == 0;
	switch (o->op) {
	case ZONE_EDIT_REPLACE: {
		bool cleared = false;
		for (unsigned i = 0; i < tn->replaced_n; i++) {
			cleared |= tn->replaced[i] == o->type;
		}
		if (!cleared) {
			for (size_t i = l->n; i-- > 0;) {
				if (l->v[i].type == o->type) {
					rr_list_remove(l, i);
				}
			}
			if (tn->replaced_n < 16) {
				tn->replaced[tn->replaced_n++] = o->type;
			}
		}
		__attribute__((fallthrough));   /* then add the record */
	}
	case ZONE_EDIT_ADD:
		if (o->rclass != ze->zone_class) {
			dname_to_str(o->owner, name, sizeof(name));
			report(ze, o->line, "%s: record class %u differs from the zone's class %u", name,
			       o->rclass, ze->zone_class);
			return CD_OK;
		}
		for (size_t i = 0; i < l->n; i++) {
			if (l->v[i].type == o->type) {
				l->v[i].ttl = o->ttl;   /* one TTL per RRset: the newest wins */
			}
		}
		for (size_t i = 0; i < l->n; i++) {
			if (rr_same(&l->v[i], &rr)) {
				return CD_OK;
			}
		}
		if (o->type == DNS_TYPE_SOA && rr_list_has_type(l, DNS_TYPE_SOA)) {
			dname_to_str(o->owner, name, sizeof(name));
			report(ze, o->line, "%s: a zone has one SOA record: use replace to change it",
			       name);
			return CD_OK;
		}
		return rr_list_push(l, &rr);
	case ZONE_EDIT_DELETE_RR:
		for (size_t i = 0; i < l->n; i++) {
			if (rr_same(&l->v[i], &rr)) {
				rr_list_remove(l, i);
				return CD_OK;
			}
		}
		if (!ze->missing_ok) {
			dname_to_str(o->owner, name, sizeof(name));
			report(ze, o->line, "%s %s: no such record to delete", name,
			       type_str(o->type, tb, sizeof(tb)));
		}
		return CD_OK;
	case ZONE_EDIT_DELETE_RRSET:
	case ZONE_EDIT_DELETE_NAME: {
		bool found = false;
		for (size_t i = l->n; i-- > 0;) {
			uint16_t t = l->v[i].type;
			if (o->op == ZONE_EDIT_DELETE_RRSET && t != o->type) {
				continue;
			}
			if (o->op == ZONE_EDIT_DELETE_NAME && is_apex &&
			    (t == DNS_TYPE_SOA || t == DNS_TYPE_NS)) {
				continue;   /* "everything at the apex" leaves the zone's SOA and NS */
			}
			rr_list_remove(l, i);
			found = true;
		}
		if (!found && !ze->missing_ok) {
			dname_to_str(o->owner, name, sizeof(name));
			if (o->op == ZONE_EDIT_DELETE_RRSET) {
				report(ze, o->line, "%s %s: no such records to delete", name,
				       type_str(o->type, tb, sizeof(tb)));
			} else {
				report(ze, o->line, "%s: no records to delete", name);
			}
		}
		return CD_OK;
	}
	}
	return CD_EINVAL;
}

/* Encodes tn->after (sorted) with flags into a malloc'd value. */
static int encode_node(const tnode_t *tn, uint8_t flags, uint8_t **out, size_t *len)
{
	size_t need = 2 + tn->owner_len;
	for (size_t i = 0; i < tn->after.n; i++) {
		need += RRSET_HEADER_SIZE + 2 + tn->after.v[i].rdlen;
	}
	uint8_t *buf = malloc(need);
	if (buf == NULL) {
		return CD_ENOMEM;
	}
	node_writer_t w;
	node_writer_begin(&w, buf, flags, tn->owner, tn->owner_len);
	for (size_t i = 0; i < tn->after.n;) {
		const rr_t *first = &tn->after.v[i];
		node_writer_rrset_begin(&w, first->type, first->rclass, first->ttl);
		size_t j = i;
		for (; j < tn->after.n && tn->after.v[j].type == first->type; j++) {
			node_writer_rr(&w, tn->after.v[j].rdata, tn->after.v[j].rdlen);
		}
		if (!node_writer_rrset_end(&w)) {
			free(buf);
			return CD_ELIMIT;
		}
		i = j;
	}
	*out = buf;
	*len = node_writer_len(&w);
	return CD_OK;
}

static int put_value(db_t *db, MDB_txn *txn, uint32_t zone_id, const uint8_t *rel,
                     size_t rel_len, const uint8_t *value, size_t len)
{
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	memcpy(key + 4, rel, rel_len);
	MDB_val k = { .mv_size = 4 + rel_len, .mv_data = key };
	if (value == NULL) {
		int rc = mdb_del(txn, db->names, &k, NULL);
		return rc == MDB_NOTFOUND ? CD_OK : db_write_error(txn, rc, "deleting a name");
	}
	MDB_val v = { .mv_size = len, .mv_data = (void *)value };
	return db_write_error(txn, mdb_put(txn, db->names, &k, &v, 0), "writing a name");
}

/* The owner of a DNAME above rel (RFC 6672 2.4: nothing may live below it), or false. */
static bool below_dname(db_t *db, MDB_txn *txn, uint32_t zone_id, const uint8_t *rel, size_t len,
                        char *owner, size_t owner_len)
{
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	memcpy(key + 4, rel, len);
	while (len > 0) {
		len--;
		while (len > 0 && rel[len - 1] != 0x00) {
			len--;
		}
		MDB_val k = { .mv_size = 4 + len, .mv_data = key }, v;
		node_t node;
		rrset_t dname;
		if (mdb_get(txn, db->names, &k, &v) == MDB_SUCCESS &&
		    node_decode(v.mv_data, v.mv_size, &node) == CD_OK &&
		    node_find_rrset(&node, DNS_TYPE_DNAME, &dname)) {
			dname_to_str(node.owner, owner, owner_len);
			return true;
		}
	}
	return false;
}

/* Does any name exist below rel? */
static bool has_descendants(db_t *db, MDB_txn *txn, uint32_t zone_id, const uint8_t *rel, size_t len)
{
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	memcpy(key + 4, rel, len);
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, db->names, &cur) != MDB_SUCCESS) {
		return false;
	}
	MDB_val k = { .mv_size = 4 + len, .mv_data = key }, v;
	bool found = false;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_SUCCESS && k.mv_size == 4 + len && memcmp(k.mv_data, key, 4 + len) == 0) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	found = rc == MDB_SUCCESS && k.mv_size > 4 + len && memcmp(k.mv_data, key, 4 + len) == 0;
	mdb_cursor_close(cur);
	return found;
}

/* Does any proper ancestor below the apex carry the DELEG flag (read in txn)? */
static bool below_cut(db_t *db, MDB_txn *txn, uint32_t zone_id, const uint8_t *rel, size_t len)
{
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	memcpy(key + 4, rel, len);
	while (len > 0) {
		len--;
		while (len > 0 && rel[len - 1] != 0x00) {
			len--;
		}
		if (len == 0) {
			break;
		}
		MDB_val k = { .mv_size = 4 + len, .mv_data = key }, v;
		if (mdb_get(txn, db->names, &k, &v) == MDB_SUCCESS && v.mv_size > 0 &&
		    (((const uint8_t *)v.mv_data)[0] & NODE_DELEG)) {
			return true;
		}
	}
	return false;
}

static bool type_allowed_at_cut(uint16_t type)
{
	return type == DNS_TYPE_NS || type == DNS_TYPE_DS || type == DNS_TYPE_A ||
	       type == DNS_TYPE_AAAA || type == DNS_TYPE_RRSIG || type == DNS_TYPE_NSEC;
}

/* Checks one stored node against the rules; line 0 with a reason for names not in the batch. */
static void validate_node(zone_edit_t *ze, const node_t *node, bool is_apex, unsigned line,
                          const char *why)
{
	char name[DNAME_STR_MAX], tb[16];
	dname_to_str(node->owner, name, sizeof(name));
	size_t pos = 0;
	rrset_t rrset;
	bool cname = false, other = false, soa = false;
	uint16_t other_type = 0;
	while (node_next_rrset(node, &pos, &rrset)) {
		if (rrset.type == DNS_TYPE_DNAME && rrset.count > 1) {
			report(ze, line, "%s: more than one DNAME record at one name (RFC 6672 2.4)", name);
		}
		if (rrset.type == DNS_TYPE_CNAME) {
			cname = true;
			if (rrset.count > 1) {
				report(ze, line, "%s: more than one CNAME record at one name%s", name, why);
			}
		} else if (rrset.type != DNS_TYPE_RRSIG && rrset.type != DNS_TYPE_NSEC) {
			if (!other) {
				other_type = rrset.type;
			}
			other = true;
		}
		if (rrset.type == DNS_TYPE_SOA) {
			soa = true;
			if (!is_apex) {
				report(ze, line, "%s: SOA record is only allowed at the zone apex", name);
			}
		}
		if ((node->flags & NODE_OCCLUDED) && rrset.type != DNS_TYPE_A &&
		    rrset.type != DNS_TYPE_AAAA) {
			report(ze, line, "%s: %s record below a delegation is not glue; only A and "
			       "AAAA may live there%s", name, type_str(rrset.type, tb, sizeof(tb)), why);
		}
		if ((node->flags & NODE_DELEG) && !type_allowed_at_cut(rrset.type)) {
			report(ze, line, "%s: %s record at a delegation point is occluded by its NS "
			       "records%s", name, type_str(rrset.type, tb, sizeof(tb)), why);
		}
	}
	if (cname && other) {
		report(ze, line, "%s: CNAME and other data (%s) at the same name (RFC 1034 3.6.2)%s",
		       name, type_str(other_type, tb, sizeof(tb)), why);
	}
	if (is_apex && !soa) {
		report(ze, line, "%s: the zone's SOA record cannot be deleted", name);
	}
}

/*
 * Rewrites the flags byte of a stored node.  When why is not NULL, a node
 * whose flags changed is validated (names the batch did not touch itself).
 */
static int set_flags(zone_edit_t *ze, db_t *db, MDB_txn *txn, uint32_t zone_id,
                     const uint8_t *rel, size_t rel_len, uint8_t flags, const char *why)
{
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	memcpy(key + 4, rel, rel_len);
	MDB_val k = { .mv_size = 4 + rel_len, .mv_data = key }, v;
	int rc = mdb_get(txn, db->names, &k, &v);
	if (rc != MDB_SUCCESS) {
		return rc == MDB_NOTFOUND ? CD_OK : db_error(rc, "reading zone data");
	}
	if (((const uint8_t *)v.mv_data)[0] == flags) {
		return CD_OK;
	}
	uint8_t *copy = malloc(v.mv_size);
	if (copy == NULL) {
		return CD_ENOMEM;
	}
	memcpy(copy, v.mv_data, v.mv_size);
	copy[0] = flags;
	MDB_val nv = { .mv_size = v.mv_size, .mv_data = copy };
	rc = mdb_put(txn, db->names, &k, &nv, 0);
	node_t node;
	if (rc == MDB_SUCCESS && why != NULL && node_decode(copy, nv.mv_size, &node) == CD_OK) {
		validate_node(ze, &node, rel_len == 0, 0, why);
	}
	free(copy);
	return db_write_error(txn, rc, "writing zone data");
}

/*
 * A zone cut appeared or vanished at rel: recompute OCCLUDED for every name
 * below it, in canonical order, tracking the innermost cut as the builder does.
 */
static int reflag_subtree(zone_edit_t *ze, db_t *db, MDB_txn *txn, uint32_t zone_id,
                          const uint8_t *rel, size_t rel_len, bool top_covers, const char *why)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->names, &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening cursor");
	}
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone_id);
	memcpy(key + 4, rel, rel_len);
	size_t prefix = 4 + rel_len;
	MDB_val k = { .mv_size = prefix, .mv_data = key }, v;
	/* Names to update are collected first: writing while iterating would move the cursor. */
	typedef struct { uint8_t key[DNAME_KEY_MAX]; size_t len; uint8_t flags; } change_t;
	change_t *changes = NULL;
	size_t nchanges = 0, cap = 0;
	uint8_t cut[DNAME_KEY_MAX];
	size_t cut_len = 0;
	bool in_cut = false;
	int ret = CD_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix || memcmp(k.mv_data, key, prefix) != 0) {
			break;
		}
		if (k.mv_size == prefix) {
			continue;   /* the cut itself */
		}
		const uint8_t *dk = (const uint8_t *)k.mv_data + 4;
		size_t dlen = k.mv_size - 4;
		uint8_t old = ((const uint8_t *)v.mv_data)[0];
		if (in_cut && !(dlen > cut_len && memcmp(dk, cut, cut_len) == 0)) {
			in_cut = false;
		}
		bool occluded = top_covers || in_cut;
		uint8_t flags = (uint8_t)(old & ~NODE_OCCLUDED) | (occluded ? NODE_OCCLUDED : 0);
		if (!occluded && (old & NODE_DELEG)) {
			in_cut = true;
			memcpy(cut, dk, dlen);
			cut_len = dlen;
		}
		if (flags != old) {
			if (nchanges == cap) {
				cap = cap ? cap * 2 : 16;
				change_t *n = realloc(changes, cap * sizeof(*n));
				if (n == NULL) {
					ret = CD_ENOMEM;
					break;
				}
				changes = n;
			}
			memcpy(changes[nchanges].key, dk, dlen);
			changes[nchanges].len = dlen;
			changes[nchanges].flags = flags;
			nchanges++;
		}
	}
	mdb_cursor_close(cur);
	if (ret == CD_OK && rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		ret = db_error(rc, "reading zone data");
	}
	for (size_t i = 0; ret == CD_OK && i < nchanges; i++) {
		ret = set_flags(ze, db, txn, zone_id, changes[i].key, changes[i].len, changes[i].flags,
		                why);
	}
	free(changes);
	return ret;
}

/* Appends RR in uncompressed wire form to a growable buffer. */
static int append_rr(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *owner,
                     size_t owner_len, const rr_t *rr)
{
	size_t need = *len + owner_len + 10 + rr->rdlen;
	if (need > *cap) {
		size_t ncap = *cap ? *cap : 1024;
		while (ncap < need) {
			ncap *= 2;
		}
		uint8_t *n = realloc(*buf, ncap);
		if (n == NULL) {
			return CD_ENOMEM;
		}
		*buf = n;
		*cap = ncap;
	}
	uint8_t *p = *buf + *len;
	memcpy(p, owner, owner_len);
	p += owner_len;
	wire_write_u16(p, rr->type);
	wire_write_u16(p + 2, rr->rclass);
	wire_write_u32(p + 4, rr->ttl);
	wire_write_u16(p + 8, rr->rdlen);
	memcpy(p + 10, rr->rdata, rr->rdlen);
	*len = need;
	return CD_OK;
}

static bool rr_in(const rr_list_t *l, const rr_t *rr)
{
	for (size_t i = 0; i < l->n; i++) {
		if (rr_same(&l->v[i], rr) && l->v[i].ttl == rr->ttl && l->v[i].rclass == rr->rclass) {
			return true;
		}
	}
	return false;
}

uint32_t zone_next_serial(const char *policy, uint32_t old, long now)
{
	if (policy != NULL && strcmp(policy, "dateserial") == 0) {
		time_t t = (time_t)now;
		struct tm tm;
		gmtime_r(&t, &tm);
		uint32_t today = (uint32_t)((tm.tm_year + 1900) * 1000000 + (tm.tm_mon + 1) * 10000 +
		                            tm.tm_mday * 100);
		/* RFC 1982 comparison: move to today's first number if that is ahead. */
		if ((int32_t)(today - old) > 0) {
			return today;
		}
	}
	uint32_t next = old + 1;
	return next == 0 ? 1 : next;
}

/* Builds the journal value and the new SOA; writes the zone record's serial. */
static int finish_change(zone_edit_t *ze, db_t *db, MDB_txn *txn, const zone_record_t *zone,
                         tnode_t *apex, zone_edit_result_t *result)
{
	int ret = CD_OK;
	/* The SOA before and after: the current one, or what a REPLACE put there. */
	rr_t *old_soa = NULL, *new_soa = NULL;
	for (size_t i = 0; i < apex->before.n; i++) {
		if (apex->before.v[i].type == DNS_TYPE_SOA) {
			old_soa = &apex->before.v[i];
		}
	}
	for (size_t i = 0; i < apex->after.n; i++) {
		if (apex->after.v[i].type == DNS_TYPE_SOA) {
			new_soa = &apex->after.v[i];
		}
	}
	if (old_soa == NULL || new_soa == NULL) {
		return CD_ESEMANTIC;   /* reported by validation */
	}
	int off = soa_rdata_serial_offset(new_soa->rdata, new_soa->rdlen);
	if (off < 0) {
		report(ze, 0, "malformed SOA rdata");
		return CD_ESEMANTIC;
	}
	json_t *conf = zone_conf_get(db, txn, ze->apex);
	const char *policy = conf ? json_string_value(json_object_get(conf, "serial_policy")) : NULL;
	uint32_t serial = zone_next_serial(policy, zone->serial, (long)time(NULL));
	uint32_t given = wire_read_u32(new_soa->rdata + off);
	if (ze->exact_serial || (int32_t)(given - serial) > 0) {
		serial = given;   /* an explicitly higher serial in a replaced SOA wins */
	}
	json_decref(conf);
	ze->soa_rdata = malloc(new_soa->rdlen);
	if (ze->soa_rdata == NULL) {
		return CD_ENOMEM;
	}
	memcpy(ze->soa_rdata, new_soa->rdata, new_soa->rdlen);
	wire_write_u32(ze->soa_rdata + off, serial);
	new_soa->rdata = ze->soa_rdata;

	/* Journal: removed (old SOA first), then added (new SOA first). */
	uint8_t *buf = NULL;
	size_t len = 20, cap = 0;
	uint32_t nremoved = 1, nadded = 1;
	uint8_t *tmp = calloc(1, 20);
	if (tmp == NULL) {
		return CD_ENOMEM;
	}
	buf = tmp;
	cap = 20;
	ret = append_rr(&buf, &len, &cap, ze->apex, ze->apex_len, old_soa);
	for (size_t n = 0; ret == CD_OK && n < ze->nnodes; n++) {
		tnode_t *tn = &ze->nodes[n];
		for (size_t i = 0; ret == CD_OK && i < tn->before.n; i++) {
			if (tn->before.v[i].type != DNS_TYPE_SOA && !rr_in(&tn->after, &tn->before.v[i])) {
				ret = append_rr(&buf, &len, &cap, tn->owner, tn->owner_len, &tn->before.v[i]);
				nremoved++;
			}
		}
	}
	size_t removed_len = len - 20;
	if (ret == CD_OK) {
		ret = append_rr(&buf, &len, &cap, ze->apex, ze->apex_len, new_soa);
	}
	for (size_t n = 0; ret == CD_OK && n < ze->nnodes; n++) {
		tnode_t *tn = &ze->nodes[n];
		for (size_t i = 0; ret == CD_OK && i < tn->after.n; i++) {
			if (tn->after.v[i].type != DNS_TYPE_SOA && !rr_in(&tn->before, &tn->after.v[i])) {
				ret = append_rr(&buf, &len, &cap, tn->owner, tn->owner_len, &tn->after.v[i]);
				nadded++;
			}
		}
	}
	if (ret == CD_OK) {
		wire_write_u32(buf, zone->serial);
		wire_write_u32(buf + 4, serial);
		wire_write_u32(buf + 8, nremoved);
		wire_write_u32(buf + 12, nadded);
		wire_write_u32(buf + 16, (uint32_t)removed_len);
		ret = journal_append(db, txn, zone->id, buf, len);
	}
	free(buf);
	if (ret == CD_OK) {
		zone_acl_entry_t acl[ZONE_ACL_MAX];
		for (unsigned i = 0; i < zone->acl_count; i++) {
			zone_acl_get(zone, i, &acl[i]);
		}
		ret = zone_store_put_record(db, txn, ze->apex, zone->id, serial, acl, zone->acl_count);
	}
	result->old_serial = zone->serial;
	result->new_serial = serial;
	result->added = nadded - 1;
	result->removed = nremoved - 1;
	return ret;
}

static bool node_changed(const tnode_t *tn)
{
	if (tn->before.n != tn->after.n) {
		return true;
	}
	for (size_t i = 0; i < tn->after.n; i++) {
		if (!rr_in(&tn->before, &tn->after.v[i])) {
			return true;
		}
	}
	return false;
}

int zone_edit_apply(zone_edit_t *ze, db_t *db, MDB_txn *txn, zone_edit_result_t *result)
{
	memset(result, 0, sizeof(*result));
	free_nodes(ze);
	ze->errors = 0;
	zone_record_t zone_in_db;
	int ret = zone_store_get(db, txn, ze->apex, &zone_in_db);
	if (ret != CD_OK) {
		return ret;
	}
	/* Copy: writes in this transaction may move the record's memory. */
	zone_record_t zone = zone_in_db;
	uint8_t acl_copy[ZONE_ACL_MAX * 18];
	memcpy(acl_copy, zone_in_db.acl, (size_t)zone.acl_count * 18);
	zone.acl = acl_copy;
	zone.apex = ze->apex;
	result->old_serial = result->new_serial = zone.serial;

	qsort(ze->ops, ze->nops, sizeof(op_t), cmp_op);
	/* One tnode per distinct owner, plus the apex (its SOA gets the new serial). */
	ze->nodes = calloc(ze->nops + 1, sizeof(tnode_t));
	if (ze->nodes == NULL) {
		return CD_ENOMEM;
	}
	tnode_t *apex = &ze->nodes[ze->nnodes++];
	memcpy(apex->owner, ze->apex, ze->apex_len);
	apex->owner_len = ze->apex_len;
	ret = load_node(ze, db, txn, zone.id, apex);
	ze->zone_class = DNS_CLASS_IN;
	for (size_t i = 0; i < apex->before.n; i++) {
		if (apex->before.v[i].type == DNS_TYPE_SOA) {
			ze->zone_class = apex->before.v[i].rclass;
		}
	}
	for (size_t i = 0; ret == CD_OK && i < ze->nops; i++) {
		const op_t *o = &ze->ops[i];
		tnode_t *tn = apex;
		if (o->keylen > 0) {
			tn = &ze->nodes[ze->nnodes - 1];
			if (tn == apex || tn->keylen != o->keylen || memcmp(tn->key, o->key, o->keylen) != 0) {
				tn = &ze->nodes[ze->nnodes++];
				memcpy(tn->key, o->key, o->keylen);
				tn->keylen = o->keylen;
				memcpy(tn->owner, o->owner, o->owner_len);
				tn->owner_len = o->owner_len;
				tn->line = o->line;
				ret = load_node(ze, db, txn, zone.id, tn);
				if (ret != CD_OK) {
					break;
				}
			}
		} else if (apex->line == 0) {
			apex->line = o->line;
		}
		ret = apply_op(ze, tn, o);
	}
	if (ret != CD_OK) {
		return ret;
	}
	if (ze->errors > 0) {
		return CD_ESEMANTIC;
	}
	bool changed = false;
	for (size_t n = 0; n < ze->nnodes; n++) {
		changed |= node_changed(&ze->nodes[n]);
	}
	if (!changed) {
		return CD_OK;
	}
	result->changed = true;
	for (size_t n = 0; n < ze->nnodes; n++) {
		tnode_t *tn = &ze->nodes[n];
		qsort(tn->after.v, tn->after.n, sizeof(rr_t), cmp_rr);
	}
	ret = finish_change(ze, db, txn, &zone, apex, result);
	if (ret != CD_OK) {
		if (ret == CD_ESEMANTIC) {
			validate_node(ze, &(node_t){ .owner = ze->apex }, true, apex->line, "");
		}
		return ret;
	}

	/* Write every touched name with its zone-cut flag; occlusion is settled below. */
	for (size_t n = 0; ret == CD_OK && n < ze->nnodes; n++) {
		tnode_t *tn = &ze->nodes[n];
		uint8_t flags = tn->old_flags & NODE_OCCLUDED;
		if (tn->keylen > 0 && rr_list_has_type(&tn->after, DNS_TYPE_NS)) {
			flags |= NODE_DELEG;
		}
		uint8_t *value = NULL;
		size_t len = 0;
		if (tn->after.n > 0) {
			ret = encode_node(tn, flags, &value, &len);
			if (ret == CD_ELIMIT) {
				char name[DNAME_STR_MAX];
				dname_to_str(tn->owner, name, sizeof(name));
				report(ze, tn->line, "%s: an RRset would exceed 65535 bytes", name);
				return CD_ESEMANTIC;
			}
		}
		if (ret == CD_OK) {
			ret = put_value(db, txn, zone.id, tn->key, tn->keylen, value, len);
		}
		free(value);
	}
	/* Occlusion of the touched names, then of everything below a cut that changed. */
	for (size_t n = 0; ret == CD_OK && n < ze->nnodes; n++) {
		tnode_t *tn = &ze->nodes[n];
		if (tn->after.n == 0 || tn->keylen == 0) {
			continue;
		}
		uint8_t flags = (uint8_t)(tn->old_flags & ~NODE_OCCLUDED);
		flags &= (uint8_t)~NODE_DELEG;
		if (rr_list_has_type(&tn->after, DNS_TYPE_NS)) {
			flags |= NODE_DELEG;
		}
		bool occluded = below_cut(db, txn, zone.id, tn->key, tn->keylen);
		if (occluded) {
			flags = (uint8_t)((flags & ~NODE_DELEG) | NODE_OCCLUDED);
		}
		ret = set_flags(ze, db, txn, zone.id, tn->key, tn->keylen, flags, NULL);
	}
	for (size_t n = 0; ret == CD_OK && n < ze->nnodes; n++) {
		tnode_t *tn = &ze->nodes[n];
		bool was_cut = (tn->old_flags & NODE_DELEG) != 0;
		bool is_cut = tn->keylen > 0 && rr_list_has_type(&tn->after, DNS_TYPE_NS);
		if (was_cut == is_cut || tn->keylen == 0) {
			continue;
		}
		char name[DNAME_STR_MAX], why[DNAME_STR_MAX + 64];
		dname_to_str(tn->owner, name, sizeof(name));
		snprintf(why, sizeof(why), " (%s NS records at %s)", is_cut ? "after adding" :
		         "after removing", name);
		bool covered = is_cut || below_cut(db, txn, zone.id, tn->key, tn->keylen);
		ret = reflag_subtree(ze, db, txn, zone.id, tn->key, tn->keylen, covered, why);
	}
	/* Finally the rules, on what is now stored. */
	for (size_t n = 0; ret == CD_OK && n < ze->nnodes; n++) {
		tnode_t *tn = &ze->nodes[n];
		uint8_t key[4 + DNAME_KEY_MAX];
		wire_write_u32(key, zone.id);
		memcpy(key + 4, tn->key, tn->keylen);
		MDB_val k = { .mv_size = 4 + tn->keylen, .mv_data = key }, v;
		node_t node;
		if (mdb_get(txn, db->names, &k, &v) == MDB_SUCCESS &&
		    node_decode(v.mv_data, v.mv_size, &node) == CD_OK) {
			validate_node(ze, &node, tn->keylen == 0, tn->line, "");
			char name[DNAME_STR_MAX], dn[DNAME_STR_MAX];
			rrset_t dname;
			if (below_dname(db, txn, zone.id, tn->key, tn->keylen, dn, sizeof(dn))) {
				dname_to_str(tn->owner, name, sizeof(name));
				report(ze, tn->line, "%s: no records may exist below the DNAME at %s "
				       "(RFC 6672 2.4)", name, dn);
			} else if (node_find_rrset(&node, DNS_TYPE_DNAME, &dname) &&
			           has_descendants(db, txn, zone.id, tn->key, tn->keylen)) {
				dname_to_str(tn->owner, name, sizeof(name));
				report(ze, tn->line, "%s: a DNAME here would occlude the names below it "
				       "(RFC 6672 2.4): delete them first", name);
			}
		} else if (tn->keylen == 0) {
			report(ze, tn->line, "the zone's SOA record cannot be deleted");
		}
	}
	if (ret == CD_OK && ze->errors > 0) {
		ret = CD_ESEMANTIC;
	}
	return ret;
}

int zone_edit_commit(zone_edit_t *ze, db_t *db, zone_edit_result_t *result)
{
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret != CD_OK) {
		return ret;
	}
	ret = zone_edit_apply(ze, db, txn, result);
	if (ret != CD_OK || !result->changed) {
		mdb_txn_abort(txn);
		return ret;
	}
	return db_write_commit(txn);
}
