#include "server/xfr_in.h"

#include <ldns/ldns.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "db/node.h"
#include "db/zone_builder.h"
#include "db/zone_edit.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/tsig.h"

#define XFR_IN_TIMEOUT_S 10

typedef struct {
	const xfr_in_request_t *req;
	xfr_in_result_t *res;
	int fd;
	tsig_ctx_t tsig;                 /* request MAC, then the previous message's MAC */
	bool signed_request;
	unsigned messages;
} session_t;

__attribute__((format(printf, 2, 3)))
static int fail(session_t *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->res->error, sizeof(s->res->error), fmt, ap);
	va_end(ap);
	return CD_EIO;
}

static uint32_t soa_field(const ldns_rr *soa, size_t i)
{
	const ldns_rdf *f = ldns_rr_rdf(soa, i);
	return f != NULL ? ldns_rdf2native_int32(f) : 0;
}

/* Sends a query for the zone, TSIG-signed when sign is set and the primary has a key. */
static int send_query(session_t *s, ldns_rr_type type, const ldns_rr *our_soa, bool sign)
{
	s->signed_request = sign && s->req->has_key;
	ldns_pkt *q = NULL;
	ldns_rdf *name = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME,
	                                       (size_t)dname_wire_length(s->req->apex, DNS_MAX_NAME),
	                                       s->req->apex);
	if (name == NULL) {
		return CD_ENOMEM;
	}
	q = ldns_pkt_query_new(name, type, LDNS_RR_CLASS_IN, 0);
	if (q == NULL) {
		return CD_ENOMEM;
	}
	ldns_pkt_set_random_id(q);
	if (our_soa != NULL) {
		ldns_pkt_push_rr(q, LDNS_SECTION_AUTHORITY, ldns_rr_clone(our_soa));
	}
	uint8_t *wire = NULL;
	size_t len = 0;
	int ret = CD_OK;
	if (ldns_pkt2wire(&wire, q, &len) != LDNS_STATUS_OK) {
		ret = CD_ENOMEM;
		goto out;
	}
	uint8_t buf[4096];
	if (len + TSIG_RR_MAX > sizeof(buf)) {
		ret = CD_ELIMIT;
		goto out;
	}
	memcpy(buf, wire, len);
	if (s->signed_request) {
		len = tsig_sign_request(&s->tsig, &s->req->key, buf, len, sizeof(buf));
		if (len == 0) {
			ret = fail(s, "cannot sign the request with TSIG key %s", s->req->key.name);
			goto out;
		}
	}
	s->messages = 0;
	uint8_t frame[2 + sizeof(buf)];
	wire_write_u16(frame, (uint16_t)len);
	memcpy(frame + 2, buf, len);
	if (write(s->fd, frame, 2 + len) != (ssize_t)(2 + len)) {
		ret = fail(s, "sending to the primary %s failed", s->req->primary_text);
	}
out:
	free(wire);
	ldns_pkt_free(q);
	return ret;
}

/* Reads and checks one response message.  Returns 0 and *pkt, or an error (res->error). */
static int read_message(session_t *s, ldns_pkt **pkt)
{
	size_t size = 0;
	struct timeval tv = { .tv_sec = XFR_IN_TIMEOUT_S };
	uint8_t *wire = ldns_tcp_read_wire_timeout(s->fd, &size, tv);
	if (wire == NULL) {
		return fail(s, "no answer from the primary %s (timeout or connection closed)",
		            s->req->primary_text);
	}
	int ret = CD_OK;
	if (ldns_wire2pkt(pkt, wire, size) != LDNS_STATUS_OK) {
		ret = fail(s, "malformed answer from the primary %s", s->req->primary_text);
		goto out;
	}
	if (ldns_pkt_get_rcode(*pkt) != LDNS_RCODE_NOERROR) {
		char *rc = ldns_pkt_rcode2str(ldns_pkt_get_rcode(*pkt));
		ret = fail(s, "the primary %s answered %s%s", s->req->primary_text, rc ? rc : "?",
		           ldns_pkt_get_rcode(*pkt) == LDNS_RCODE_NOTAUTH && s->req->has_key
		               ? " (does it know our TSIG key?)" : "");
		free(rc);
		goto out;
	}
	if (s->signed_request) {
		/* RFC 8945 5.3.1: the first answer covers the request MAC, later ones the
		 * previous MAC and the timers; every message must be signed. */
		ldns_rdf *mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, s->tsig.mac_len,
		                                      s->tsig.mac);
		bool ok = ldns_pkt_tsig(*pkt) != NULL && mac != NULL &&
		          ldns_pkt_tsig_verify_next(*pkt, wire, size, s->req->key.name,
		                                    s->req->key.secret, mac, s->messages > 0);
		ldns_rdf_deep_free(mac);
		if (!ok) {
			ret = fail(s, "the answer of the primary %s does not carry a valid TSIG of key %s",
			           s->req->primary_text, s->req->key.name);
			goto out;
		}
		const ldns_rdf *m = ldns_rr_rdf(ldns_pkt_tsig(*pkt), 3);
		if (m != NULL && ldns_rdf_size(m) <= sizeof(s->tsig.mac)) {
			memcpy(s->tsig.mac, ldns_rdf_data(m), ldns_rdf_size(m));
			s->tsig.mac_len = ldns_rdf_size(m);
		}
	}
	s->messages++;
out:
	free(wire);
	if (ret != CD_OK) {
		ldns_pkt_free(*pkt);
		*pkt = NULL;
	}
	return ret;
}

/* Reads a whole transfer into rrs.  *ixfr tells which format the primary chose. */
static int read_transfer(session_t *s, ldns_rr_list *rrs, bool *ixfr, uint32_t *serial)
{
	size_t soa_seen = 0;
	for (;;) {
		ldns_pkt *pkt = NULL;
		int ret = read_message(s, &pkt);
		if (ret != CD_OK) {
			return ret;
		}
		ldns_rr_list *answer = ldns_pkt_answer(pkt);
		for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
			ldns_rr *rr = ldns_rr_list_rr(answer, i);
			size_t at = ldns_rr_list_rr_count(rrs);
			if (at == 0) {
				if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) {
					ldns_pkt_free(pkt);
					return fail(s, "the transfer from %s does not start with the SOA",
					            s->req->primary_text);
				}
				*serial = soa_field(rr, 2);
			}
			if (at == 1) {
				*ixfr = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
			}
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && soa_field(rr, 2) == *serial) {
				soa_seen++;
			}
			ldns_rr_list_push_rr(rrs, ldns_rr_clone(rr));
		}
		ldns_pkt_free(pkt);
		size_t n = ldns_rr_list_rr_count(rrs);
		/* AXFR ends at the second SOA; IXFR at the third SOA of the new serial
		 * (first, new SOA of the last change, last); one SOA alone: up to date. */
		if (n == 1 && s->messages == 1 && soa_seen == 1) {
			*ixfr = true;
			return CD_OK;
		}
		if (n >= 2 && ((!*ixfr && soa_seen >= 2) || (*ixfr && soa_seen >= 3))) {
			return CD_OK;
		}
		if (n > 50000000) {
			return fail(s, "the transfer from %s does not end", s->req->primary_text);
		}
	}
}

static int add_rr(zone_builder_t *zb, zone_edit_t *ze, zone_edit_op_t op, const ldns_rr *rr,
                  ldns_buffer *buf)
{
	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
		return CD_EMALF;
	}
	const ldns_rdf *owner = ldns_rr_owner(rr);
	if (zb != NULL) {
		return zone_builder_add(zb, ldns_rdf_data(owner), (uint16_t)ldns_rr_get_type(rr),
		                        (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr),
		                        ldns_buffer_begin(buf), ldns_buffer_position(buf), 0);
	}
	return zone_edit_add(ze, op, ldns_rdf_data(owner), (uint16_t)ldns_rr_get_type(rr),
	                     (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr),
	                     ldns_buffer_begin(buf), ldns_buffer_position(buf), 0);
}

static void report_cb(void *ctx, bool is_error, unsigned line, const char *msg)
{
	(void)line;
	session_t *s = ctx;
	if (is_error && s->res->error[0] == '\0') {
		snprintf(s->res->error, sizeof(s->res->error), "the primary's zone breaks a rule: %s", msg);
	}
}

static int apply_axfr(session_t *s, db_t *db, ldns_rr_list *rrs, ldns_buffer *buf)
{
	zone_builder_t *zb = zone_builder_new(s->req->apex);
	if (zb == NULL) {
		return CD_ENOMEM;
	}
	zone_builder_set_report(zb, report_cb, s);
	size_t n = ldns_rr_list_rr_count(rrs);
	int ret = CD_OK;
	for (size_t i = 0; ret == CD_OK && i + 1 < n; i++) {   /* the last RR repeats the SOA */
		ret = add_rr(zb, NULL, ZONE_EDIT_ADD, ldns_rr_list_rr(rrs, i), buf);
	}
	zone_builder_stats_t stats;
	if (ret == CD_OK) {
		ret = zone_builder_commit(zb, db, &stats);
	}
	zone_builder_free(zb);
	s->res->records = n - 1;
	s->res->full = true;
	return ret;
}

/* Applies IXFR sequences (old SOA, deletions, new SOA, additions)... in one transaction. */
static int apply_ixfr(session_t *s, db_t *db, ldns_rr_list *rrs, ldns_buffer *buf)
{
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret != CD_OK) {
		return ret;
	}
	size_t n = ldns_rr_list_rr_count(rrs);
	size_t i = 1;   /* after the leading SOA */
	while (ret == CD_OK && i + 1 < n) {
		zone_edit_t *ze = zone_edit_new(s->req->apex);
		if (ze == NULL) {
			ret = CD_ENOMEM;
			break;
		}
		zone_edit_set_exact_serial(ze, true);
		zone_edit_set_missing_ok(ze, true);
		zone_edit_set_report(ze, report_cb, s);
		i++;   /* the old SOA */
		while (ret == CD_OK && i < n && ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) != LDNS_RR_TYPE_SOA) {
			ret = add_rr(NULL, ze, ZONE_EDIT_DELETE_RR, ldns_rr_list_rr(rrs, i++), buf);
		}
		if (ret == CD_OK && i < n) {
			ret = add_rr(NULL, ze, ZONE_EDIT_REPLACE, ldns_rr_list_rr(rrs, i++), buf);
		}
		while (ret == CD_OK && i < n && ldns_rr_get_type(ldns_rr_list_rr(rrs, i)) != LDNS_RR_TYPE_SOA) {
			ret = add_rr(NULL, ze, ZONE_EDIT_ADD, ldns_rr_list_rr(rrs, i++), buf);
			s->res->records++;
		}
		zone_edit_result_t er;
		if (ret == CD_OK) {
			ret = zone_edit_apply(ze, db, txn, &er);
		}
		zone_edit_free(ze);
	}
	if (ret == CD_OK) {
		return db_write_commit(txn);
	}
	mdb_txn_abort(txn);
	return ret;
}

int xfr_in_run(db_t *db, const xfr_in_request_t *req, xfr_in_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->refresh = 3600;
	res->retry = 300;
	session_t s = { .req = req, .res = res, .fd = -1 };
	ldns_rr *our_soa = NULL;
	ldns_rr_list *rrs = ldns_rr_list_new();
	ldns_buffer *buf = ldns_buffer_new(65535);
	int ret = CD_OK;
	if (rrs == NULL || buf == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	/* The version we hold, if any. */
	MDB_txn *txn;
	if (db_read_begin(db, &txn) == CD_OK) {
		zone_record_t zone;
		node_t apex;
		rrset_t soa;
		uint8_t key[4];
		if (zone_store_get(db, txn, req->apex, &zone) == CD_OK) {
			wire_write_u32(key, zone.id);
			MDB_val k = { .mv_size = 4, .mv_data = key }, v;
			const uint8_t *rdata;
			uint16_t rdlen;
			size_t pos = 0;
			if (mdb_get(txn, db->names, &k, &v) == MDB_SUCCESS &&
			    node_decode(v.mv_data, v.mv_size, &apex) == CD_OK &&
			    node_find_rrset(&apex, DNS_TYPE_SOA, &soa) &&
			    rrset_next_rr(&soa, &pos, &rdata, &rdlen)) {
				size_t olen = (size_t)dname_wire_length(apex.owner, DNS_MAX_NAME);
				uint8_t wire[DNS_MAX_NAME + 10 + 2 * DNS_MAX_NAME + 20];
				memcpy(wire, apex.owner, olen);
				memcpy(wire + olen, soa.header, 8);
				wire_write_u16(wire + olen + 8, rdlen);
				memcpy(wire + olen + 10, rdata, rdlen);
				size_t wpos = 0;
				if (ldns_wire2rr(&our_soa, wire, olen + 10 + rdlen, &wpos,
				                 LDNS_SECTION_AUTHORITY) != LDNS_STATUS_OK) {
					our_soa = NULL;
				}
			}
		}
		mdb_txn_abort(txn);
	}
	res->old_serial = our_soa ? soa_field(our_soa, 2) : 0;

	struct timeval tv = { .tv_sec = XFR_IN_TIMEOUT_S };
	s.fd = ldns_tcp_connect(&req->primary, req->primary_len, tv);
	if (s.fd < 0) {
		ret = fail(&s, "cannot connect to the primary %s", req->primary_text);
		goto out;
	}
	/* Is there anything new?  (RFC 1982 serial comparison.)  A plain query: the
	 * serial is only a hint, the transfer itself is signed and verified. */
	ret = send_query(&s, LDNS_RR_TYPE_SOA, NULL, false);
	ldns_pkt *pkt = NULL;
	if (ret == CD_OK) {
		ret = read_message(&s, &pkt);
	}
	if (ret != CD_OK) {
		goto out;
	}
	ldns_rr *soa = ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) > 0
	               ? ldns_rr_list_rr(ldns_pkt_answer(pkt), 0) : NULL;
	if (soa == NULL || ldns_rr_get_type(soa) != LDNS_RR_TYPE_SOA) {
		ldns_pkt_free(pkt);
		ret = fail(&s, "the primary %s has no SOA for %s (is it authoritative?)",
		           req->primary_text, req->zone);
		goto out;
	}
	res->serial = soa_field(soa, 2);
	res->refresh = soa_field(soa, 3);
	res->retry = soa_field(soa, 4);
	ldns_pkt_free(pkt);
	if (our_soa != NULL && (int32_t)(res->serial - res->old_serial) <= 0) {
		res->serial = res->old_serial;
		goto out;   /* up to date */
	}

	ret = send_query(&s, our_soa ? LDNS_RR_TYPE_IXFR : LDNS_RR_TYPE_AXFR, our_soa, true);
	bool ixfr = false;
	uint32_t serial = 0;
	if (ret == CD_OK) {
		ret = read_transfer(&s, rrs, &ixfr, &serial);
	}
	if (ret != CD_OK) {
		goto out;
	}
	res->serial = serial;
	if (ldns_rr_list_rr_count(rrs) == 1) {
		goto out;   /* the primary says we are current */
	}
	ret = ixfr ? apply_ixfr(&s, db, rrs, buf) : apply_axfr(&s, db, rrs, buf);
	if (ret != CD_OK && res->error[0] == '\0') {
		snprintf(res->error, sizeof(res->error), "storing the transferred zone failed: %s",
		         cd_strerror(ret));
	}
	res->changed = ret == CD_OK;
out:
	if (s.fd >= 0) {
		close(s.fd);
	}
	ldns_rr_free(our_soa);
	ldns_rr_list_deep_free(rrs);
	ldns_buffer_free(buf);
	return ret;
}
