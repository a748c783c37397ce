#include "acme/dns01.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "db/node.h"
#include "db/zone_conf.h"
#include "db/zone_edit.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

#define CNAME_CHAIN_MAX 8

/* What our own data says about a name. */
typedef struct {
	bool ours;                     /* authoritative data of one of our zones */
	uint8_t zone[DNS_MAX_NAME];
	bool has_cname;
	uint8_t cname[DNS_MAX_NAME];
} local_t;

static void local_lookup(db_t *db, MDB_txn *txn, const uint8_t *name, local_t *out)
{
	memset(out, 0, sizeof(*out));
	int labels = dname_label_count(name);
	zone_record_t zone;
	int skip = 0;
	for (; skip <= labels; skip++) {
		if (zone_store_get(db, txn, dname_skip_labels(name, skip), &zone) == CD_OK) {
			break;
		}
	}
	if (skip > labels) {
		return;
	}
	/* Below (or at) a zone cut of that zone, the data is not ours to write. */
	uint8_t full[DNAME_KEY_MAX], apex_key[DNAME_KEY_MAX];
	size_t full_len = dname_to_key(name, full);
	size_t apex_len = dname_to_key(zone.apex, apex_key);
	uint8_t key[4 + DNAME_KEY_MAX];
	wire_write_u32(key, zone.id);
	memcpy(key + 4, full + apex_len, full_len - apex_len);
	for (size_t len = apex_len + 1; len <= full_len; len++) {
		if (full[len - 1] != 0x00) {
			continue;
		}
		MDB_val k = { .mv_size = 4 + len - apex_len, .mv_data = key }, v;
		node_t node;
		if (mdb_get(txn, db->names, &k, &v) == MDB_SUCCESS &&
		    node_decode(v.mv_data, v.mv_size, &node) == CD_OK) {
			if (node.flags & (NODE_DELEG | NODE_OCCLUDED)) {
				return;
			}
			rrset_t cname;
			const uint8_t *rdata;
			uint16_t rdlen;
			size_t pos = 0;
			if (len == full_len && node_find_rrset(&node, DNS_TYPE_CNAME, &cname) &&
			    rrset_next_rr(&cname, &pos, &rdata, &rdlen) &&
			    dname_wire_length(rdata, rdlen) == (int)rdlen) {
				out->has_cname = true;
				memcpy(out->cname, rdata, rdlen);
			}
		}
	}
	out->ours = true;
	memcpy(out->zone, zone.apex, zone.apex_len);
}

/* "ADDR[:PORT]" or "[V6]:PORT" into an ldns nameserver rdf and a port. */
static ldns_resolver *make_resolver(const char *spec, uint16_t default_port, bool recursive);

ldns_resolver *dns01_make_resolver(const char *spec)
{
	return make_resolver(spec, 53, true);
}

static ldns_resolver *make_resolver(const char *spec, uint16_t default_port, bool recursive)
{
	ldns_resolver *r = NULL;
	if (spec == NULL) {
		if (ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK) {
			return NULL;
		}
	} else {
		char host[INET6_ADDRSTRLEN + 2];
		long port = default_port;
		const char *p = NULL;
		if (spec[0] == '[') {
			const char *end = strchr(spec, ']');
			if (end == NULL || (size_t)(end - spec - 1) >= sizeof(host)) {
				return NULL;
			}
			memcpy(host, spec + 1, (size_t)(end - spec - 1));
			host[end - spec - 1] = '\0';
			p = end[1] == ':' ? end + 2 : NULL;
		} else {
			const char *colon = strchr(spec, ':');
			if (colon != NULL && strchr(colon + 1, ':') == NULL) {
				snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
				p = colon + 1;
			} else {
				snprintf(host, sizeof(host), "%s", spec);
			}
		}
		if (p != NULL) {
			port = strtol(p, NULL, 10);
		}
		ldns_rdf *ns = ldns_rdf_new_frm_str(strchr(host, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
		                                    host);
		r = ldns_resolver_new();
		if (ns == NULL || r == NULL || ldns_resolver_push_nameserver(r, ns) != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(ns);
			ldns_resolver_deep_free(r);
			return NULL;
		}
		ldns_rdf_deep_free(ns);
		ldns_resolver_set_port(r, (uint16_t)port);
	}
	ldns_resolver_set_recursive(r, recursive);
	ldns_resolver_set_retry(r, 2);
	ldns_resolver_set_timeout(r, (struct timeval){ .tv_sec = 2 });
	ldns_resolver_set_fallback(r, true);   /* TCP when the answer is truncated */
	ldns_resolver_set_dnssec(r, false);
	ldns_resolver_set_defnames(r, false);
	ldns_resolver_set_dnsrch(r, false);
	return r;
}

/* A suggestion for the CNAME target of a challenge name: base-with-dashes.<acme zone>. */
static void suggest(const dns01_config_t *cfg, const char *base, char *out, size_t len)
{
	if (cfg->acme_zone == NULL) {
		snprintf(out, len, "<a name in one of the zones served here>");
		return;
	}
	char label[256];
	size_t i = 0;
	for (; base[i] != '\0' && i < sizeof(label) - 1; i++) {
		label[i] = base[i] == '.' ? '-' : base[i];
	}
	while (i > 0 && label[i - 1] == '-') {
		i--;
	}
	label[i] = '\0';
	const char *zone = cfg->acme_zone;
	size_t zl = strlen(zone);
	snprintf(out, len, "%s.%s%s", label, zone, zl > 0 && zone[zl - 1] == '.' ? "" : ".");
}

/* Asks the resolver for the CNAME of name.  Returns 1 (found, into out), 0 (none), -1 (no answer). */
static int resolve_cname(ldns_resolver *res, const uint8_t *name, uint8_t out[DNS_MAX_NAME])
{
	ldns_rdf *qname = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME,
	                                        (size_t)dname_wire_length(name, DNS_MAX_NAME), name);
	if (qname == NULL) {
		return -1;
	}
	ldns_pkt *pkt = ldns_resolver_query(res, qname, LDNS_RR_TYPE_CNAME, LDNS_RR_CLASS_IN, LDNS_RD);
	ldns_rdf_deep_free(qname);
	if (pkt == NULL) {
		return -1;
	}
	int ret = 0;
	if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR &&
	    ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NXDOMAIN) {
		ret = -1;
	}
	ldns_rr_list *answer = ldns_pkt_answer(pkt);
	for (size_t i = 0; ret == 0 && i < ldns_rr_list_rr_count(answer); i++) {
		ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
		    dname_equal(ldns_rdf_data(ldns_rr_owner(rr)), name)) {
			const ldns_rdf *t = ldns_rr_rdf(rr, 0);
			if (t != NULL && ldns_rdf_size(t) <= DNS_MAX_NAME) {
				memcpy(out, ldns_rdf_data(t), ldns_rdf_size(t));
				ret = 1;
			}
		}
	}
	ldns_pkt_free(pkt);
	return ret;
}

int dns01_find_target(db_t *db, const dns01_config_t *cfg, const char *identifier,
                      dns01_target_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *base = strncmp(identifier, "*.", 2) == 0 ? identifier + 2 : identifier;
	char text[DNS_MAX_NAME * 4 + 32];
	snprintf(text, sizeof(text), "_acme-challenge.%s", base);
	uint8_t name[DNS_MAX_NAME];
	if (zonefile_parse_name(text, name) < 0) {
		snprintf(err, errlen, "'%s' is not a valid domain name", identifier);
		return CD_EINVAL;
	}
	dname_to_str(name, out->challenge, sizeof(out->challenge));
	char want[DNS_MAX_NAME * 4 + 64];
	suggest(cfg, base, want, sizeof(want));

	MDB_txn *txn;
	int ret = db_read_begin(db, &txn);
	if (ret != CD_OK) {
		snprintf(err, errlen, "cannot read the database");
		return ret;
	}
	ldns_resolver *res = NULL;
	uint8_t cur[DNS_MAX_NAME];
	memcpy(cur, name, (size_t)dname_wire_length(name, DNS_MAX_NAME));
	ret = CD_ENOZONE;
	for (int hop = 0; hop <= CNAME_CHAIN_MAX; hop++) {
		local_t l;
		local_lookup(db, txn, cur, &l);
		if (l.ours && !l.has_cname) {
			memcpy(out->target, cur, (size_t)dname_wire_length(cur, DNS_MAX_NAME));
			memcpy(out->zone, l.zone, (size_t)dname_wire_length(l.zone, DNS_MAX_NAME));
			dname_to_str(out->target, out->target_text, sizeof(out->target_text));
			dname_to_str(out->zone, out->zone_text, sizeof(out->zone_text));
			out->via_cname = hop > 0;
			ret = CD_OK;
			break;
		}
		if (l.ours) {
			memcpy(cur, l.cname, (size_t)dname_wire_length(l.cname, DNS_MAX_NAME));
			continue;   /* a CNAME in our own data: follow it here */
		}
		if (res == NULL && (res = make_resolver(cfg->resolver, 53, true)) == NULL) {
			snprintf(err, errlen, "cannot set up the resolver %s", cfg->resolver ? cfg->resolver
			         : "from /etc/resolv.conf");
			ret = CD_ENET;
			break;
		}
		uint8_t next[DNS_MAX_NAME];
		int found = resolve_cname(res, cur, next);
		char cur_text[DNAME_STR_MAX];
		dname_to_str(cur, cur_text, sizeof(cur_text));
		if (found < 0) {
			snprintf(err, errlen, "cannot look up %s: the resolver %s does not answer", cur_text,
			         cfg->resolver ? cfg->resolver : "(/etc/resolv.conf)");
			ret = CD_ENET;
			break;
		}
		if (found == 0) {
			if (hop == 0) {
				snprintf(err, errlen, "%s is not in a zone served here and has no CNAME: "
				         "create the record '%s CNAME %s' at the DNS provider of %s",
				         out->challenge, out->challenge, want, base);
			} else {
				snprintf(err, errlen, "%s leads by CNAME to %s, which is not in a zone served "
				         "here: make it '%s CNAME %s'", out->challenge, cur_text,
				         out->challenge, want);
			}
			break;
		}
		memcpy(cur, next, (size_t)dname_wire_length(next, DNS_MAX_NAME));
	}
	if (ret == CD_ENOZONE && err[0] == '\0') {
		snprintf(err, errlen, "%s: the CNAME chain is too long or loops", out->challenge);
	}
	ldns_resolver_deep_free(res);
	mdb_txn_abort(txn);
	return ret;
}

/* TXT rdata of one value: a single character-string (values are 43 characters). */
static size_t txt_rdata(const char *value, uint8_t out[256])
{
	size_t len = strlen(value);
	if (len > 255) {
		len = 255;
	}
	out[0] = (uint8_t)len;
	memcpy(out + 1, value, len);
	return len + 1;
}

int dns01_write(db_t *db, const dns01_target_t *targets, const char *const *values, size_t n,
                bool add, uint32_t ttl, char *err, size_t errlen)
{
	bool *done = calloc(n ? n : 1, sizeof(bool));
	if (done == NULL) {
		return CD_ENOMEM;
	}
	int ret = CD_OK;
	for (size_t i = 0; ret == CD_OK && i < n; i++) {
		if (done[i]) {
			continue;
		}
		/* One transaction (one serial bump, one NOTIFY) per zone. */
		zone_edit_t *ze = zone_edit_new(targets[i].zone);
		if (ze == NULL) {
			ret = CD_ENOMEM;
			break;
		}
		zone_edit_set_missing_ok(ze, true);
		for (size_t j = i; ret == CD_OK && j < n; j++) {
			if (!done[j] && dname_equal(targets[j].zone, targets[i].zone)) {
				uint8_t rdata[256];
				size_t rdlen = txt_rdata(values[j], rdata);
				ret = zone_edit_add(ze, add ? ZONE_EDIT_ADD : ZONE_EDIT_DELETE_RR,
				                    targets[j].target, DNS_TYPE_TXT, DNS_CLASS_IN, ttl, rdata,
				                    rdlen, 0);
				done[j] = true;
			}
		}
		zone_edit_result_t result;
		if (ret == CD_OK) {
			ret = zone_edit_commit(ze, db, &result);
		}
		if (ret != CD_OK) {
			snprintf(err, errlen, "%s the challenge records in zone %s failed: %s",
			         add ? "writing" : "removing", targets[i].zone_text, cd_strerror(ret));
		}
		zone_edit_free(ze);
	}
	free(done);
	return ret;
}

/* Does the server serve every value of this zone's targets?  Appends what it lacks to err. */
static bool server_serves(const char *server, uint16_t port, const dns01_target_t *targets,
                          const char *const *values, size_t n, const uint8_t *zone,
                          char *err, size_t errlen)
{
	char spec[INET6_ADDRSTRLEN + 16];
	snprintf(spec, sizeof(spec), strchr(server, ':') ? "[%s]:%u" : "%s:%u", server, port);
	ldns_resolver *r = make_resolver(spec, port, false);
	if (r == NULL) {
		return false;
	}
	bool all = true;
	for (size_t i = 0; all && i < n; i++) {
		if (!dname_equal(targets[i].zone, zone)) {
			continue;
		}
		ldns_rdf *qname = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME,
		                                        (size_t)dname_wire_length(targets[i].target,
		                                                                  DNS_MAX_NAME),
		                                        targets[i].target);
		ldns_pkt *pkt = qname ? ldns_resolver_query(r, qname, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0)
		                      : NULL;
		ldns_rdf_deep_free(qname);
		bool found = false;
		ldns_rr_list *answer = pkt ? ldns_pkt_answer(pkt) : NULL;
		for (size_t a = 0; answer && !found && a < ldns_rr_list_rr_count(answer); a++) {
			ldns_rr *rr = ldns_rr_list_rr(answer, a);
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_rd_count(rr) != 1) {
				continue;
			}
			const ldns_rdf *s = ldns_rr_rdf(rr, 0);
			size_t len = ldns_rdf_size(s);
			const uint8_t *d = ldns_rdf_data(s);
			found = len >= 1 && d[0] == len - 1 && strlen(values[i]) == len - 1 &&
			        memcmp(d + 1, values[i], len - 1) == 0;
		}
		ldns_pkt_free(pkt);
		if (!found) {
			size_t used = strlen(err);
			snprintf(err + used, errlen - used, "%s%s does not serve %s yet", used ? "; " : "",
			         spec, targets[i].target_text);
			all = false;
		}
	}
	ldns_resolver_deep_free(r);
	return all;
}

static bool is_self(const dns01_config_t *cfg, const char *addr)
{
	for (size_t i = 0; i < cfg->nself; i++) {
		if (strcmp(cfg->self[i], addr) == 0) {
			return true;
		}
	}
	return false;
}

/* Addresses of an NS host: from our own data when it is ours, else from the resolver. */
static void ns_addresses(db_t *db, MDB_txn *txn, const dns01_config_t *cfg, const uint8_t *host,
                         json_t *out)
{
	local_t l;
	local_lookup(db, txn, host, &l);
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	if (l.ours) {
		zone_record_t zone;
		node_t node;
		bool found;
		if (zone_store_lookup(db, txn, host, &zone, &node, &found) != CD_OK || !found) {
			return;
		}
		for (size_t t = 0; t < 2; t++) {
			rrset_t rrset;
			if (!node_find_rrset(&node, (uint16_t)types[t], &rrset)) {
				continue;
			}
			size_t pos = 0;
			const uint8_t *rdata;
			uint16_t rdlen;
			while (rrset_next_rr(&rrset, &pos, &rdata, &rdlen)) {
				char a[INET6_ADDRSTRLEN];
				if (inet_ntop(rdlen == 4 ? AF_INET : AF_INET6, rdata, a, sizeof(a)) != NULL) {
					json_array_append_new(out, json_string(a));
				}
			}
		}
		return;
	}
	ldns_resolver *res = make_resolver(cfg->resolver, 53, true);
	ldns_rdf *qname = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME,
	                                        (size_t)dname_wire_length(host, DNS_MAX_NAME), host);
	for (size_t t = 0; res && qname && t < 2; t++) {
		ldns_pkt *pkt = ldns_resolver_query(res, qname, types[t], LDNS_RR_CLASS_IN, LDNS_RD);
		ldns_rr_list *answer = pkt ? ldns_pkt_answer(pkt) : NULL;
		for (size_t a = 0; answer && a < ldns_rr_list_rr_count(answer); a++) {
			ldns_rr *rr = ldns_rr_list_rr(answer, a);
			if (ldns_rr_get_type(rr) == types[t]) {
				char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
				if (s != NULL) {
					json_array_append_new(out, json_string(s));
				}
				free(s);
			}
		}
		ldns_pkt_free(pkt);
	}
	ldns_rdf_deep_free(qname);
	ldns_resolver_deep_free(res);
}

/* The servers (address, port) to ask for one zone, other than this daemon. */
json_t *dns01_zone_servers(db_t *db, MDB_txn *txn, const dns01_config_t *cfg, const uint8_t *apex)
{
	json_t *servers = json_array();
	json_t *conf = zone_conf_get(db, txn, apex);
	size_t i;
	json_t *sec;
	json_array_foreach(conf ? json_object_get(conf, "secondaries") : NULL, i, sec) {
		json_array_append_new(servers, json_pack("{s:O, s:O}", "address",
		                                         json_object_get(sec, "address"), "port",
		                                         json_object_get(sec, "port")));
	}
	json_decref(conf);
	if (!cfg->check_ns) {
		return servers;
	}
	zone_record_t zone;
	if (zone_store_get(db, txn, apex, &zone) != CD_OK) {
		return servers;
	}
	uint8_t key[4];
	wire_write_u32(key, zone.id);
	MDB_val k = { .mv_size = 4, .mv_data = key }, v;
	node_t node;
	rrset_t ns;
	if (mdb_get(txn, db->names, &k, &v) != MDB_SUCCESS ||
	    node_decode(v.mv_data, v.mv_size, &node) != CD_OK || !node_find_rrset(&node, DNS_TYPE_NS, &ns)) {
		return servers;
	}
	/* Copy the NS names: look-ups below may not keep the snapshot's pointers valid. */
	json_t *hosts = json_array();
	size_t pos = 0;
	const uint8_t *rdata;
	uint16_t rdlen;
	while (rrset_next_rr(&ns, &pos, &rdata, &rdlen)) {
		char h[DNAME_STR_MAX];
		dname_to_str(rdata, h, sizeof(h));
		json_array_append_new(hosts, json_string(h));
	}
	json_t *h;
	json_array_foreach(hosts, i, h) {
		uint8_t host[DNS_MAX_NAME];
		if (zonefile_parse_name(json_string_value(h), host) < 0) {
			continue;
		}
		json_t *addrs = json_array();
		ns_addresses(db, txn, cfg, host, addrs);
		size_t j;
		json_t *a;
		json_array_foreach(addrs, j, a) {
			const char *addr = json_string_value(a);
			bool known = is_self(cfg, addr);
			size_t m;
			json_t *s;
			json_array_foreach(servers, m, s) {
				known |= strcmp(json_string_value(json_object_get(s, "address")), addr) == 0;
			}
			if (!known) {
				json_array_append_new(servers, json_pack("{s:s, s:i}", "address", addr, "port",
				                                         (int)cfg->ns_port));
			}
		}
		json_decref(addrs);
	}
	json_decref(hosts);
	return servers;
}

int dns01_check_propagation(db_t *db, const dns01_config_t *cfg, const dns01_target_t *targets,
                            const char *const *values, size_t n, char *err, size_t errlen)
{
	err[0] = '\0';
	MDB_txn *txn;
	int ret = db_read_begin(db, &txn);
	if (ret != CD_OK) {
		return ret;
	}
	bool all = true;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++) {
			seen |= dname_equal(targets[j].zone, targets[i].zone);
		}
		if (seen) {
			continue;
		}
		json_t *servers = dns01_zone_servers(db, txn, cfg, targets[i].zone);
		size_t s;
		json_t *srv;
		json_array_foreach(servers, s, srv) {
			const char *addr = json_string_value(json_object_get(srv, "address"));
			json_int_t port = json_integer_value(json_object_get(srv, "port"));
			if (addr != NULL && !server_serves(addr, (uint16_t)port, targets, values, n,
			                                   targets[i].zone, err, errlen)) {
				all = false;
			}
		}
		json_decref(servers);
	}
	mdb_txn_abort(txn);
	return all ? CD_OK : CD_ELIMIT;
}
