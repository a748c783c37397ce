/*
 * certdnsctl check NAME: before ordering (or when a customer asks why not),
 * what is fine and what is wrong for a certificate for NAME, and the exact
 * record that fixes it.
 */

#include <getopt.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme/account.h"
#include "acme/caa.h"
#include "acme/dns01.h"
#include "certs/vault.h"
#include "cli/cli.h"
#include "common/error.h"
#include "db/acme_store.h"
#include "db/node.h"
#include "db/zone_conf.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

typedef struct {
	json_t *checks;
	int problems;
} report_t;

/* ok: 1 fine, 0 wrong, -1 could not tell. */
static void add(report_t *r, const char *check, int ok, const char *detail, const char *fix)
{
	json_array_append_new(r->checks, json_pack("{s:s, s:o, s:s, s:s?}", "check", check, "ok",
	                                           ok < 0 ? json_null() : json_boolean(ok),
	                                           "detail", detail, "fix", fix));
	if (ok == 0) {
		r->problems++;
	}
}

/* Our zone holding name (deepest), into apex.  Returns false when none. */
static bool our_zone(db_t *db, const uint8_t *name, uint8_t apex[DNS_MAX_NAME])
{
	MDB_txn *txn;
	if (db_read_begin(db, &txn) != CD_OK) {
		return false;
	}
	zone_record_t zone;
	node_t node;
	bool found_node;
	bool found = zone_store_lookup(db, txn, name, &zone, &node, &found_node) == CD_OK;
	if (found) {
		memcpy(apex, zone.apex, zone.apex_len);
	}
	mdb_txn_abort(txn);
	return found;
}

/* The NS names of our zone, as sorted lowercase text, space separated. */
static void our_ns(db_t *db, const uint8_t *apex, char *out, size_t len)
{
	out[0] = '\0';
	MDB_txn *txn;
	zone_record_t zone;
	if (db_read_begin(db, &txn) != CD_OK) {
		return;
	}
	if (zone_store_get(db, txn, apex, &zone) == CD_OK) {
		uint8_t key[4];
		wire_write_u32(key, zone.id);
		MDB_val k = { .mv_size = 4, .mv_data = key }, v;
		node_t node;
		rrset_t ns;
		if (mdb_get(txn, db->names, &k, &v) == MDB_SUCCESS &&
		    node_decode(v.mv_data, v.mv_size, &node) == CD_OK &&
		    node_find_rrset(&node, DNS_TYPE_NS, &ns)) {
			size_t pos = 0;
			const uint8_t *rd;
			uint16_t rdlen;
			while (rrset_next_rr(&ns, &pos, &rd, &rdlen)) {
				uint8_t lower[DNS_MAX_NAME];
				memcpy(lower, rd, rdlen);
				dname_to_lower(lower);
				char t[DNAME_STR_MAX];
				dname_to_str(lower, t, sizeof(t));
				size_t used = strlen(out);
				snprintf(out + used, len - used, "%s%s", used ? " " : "", t);
			}
		}
	}
	mdb_txn_abort(txn);
}

/* The NS names the world sees for apex (through the resolver), same form; false on failure. */
static bool public_ns(const char *resolver, const uint8_t *apex, char *out, size_t len)
{
	out[0] = '\0';
	ldns_resolver *r = dns01_make_resolver(resolver);
	ldns_rdf *q = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME,
	                                    (size_t)dname_wire_length(apex, DNS_MAX_NAME), apex);
	ldns_pkt *pkt = r && q ? ldns_resolver_query(r, q, LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, LDNS_RD)
	                       : NULL;
	bool ok = pkt != NULL && ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NOERROR;
	ldns_rr_list *answer = pkt ? ldns_pkt_answer(pkt) : NULL;
	for (size_t i = 0; ok && i < ldns_rr_list_rr_count(answer); i++) {
		ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS) {
			const ldns_rdf *t = ldns_rr_rdf(rr, 0);
			uint8_t lower[DNS_MAX_NAME];
			size_t n = ldns_rdf_size(t) < DNS_MAX_NAME ? ldns_rdf_size(t) : DNS_MAX_NAME;
			memcpy(lower, ldns_rdf_data(t), n);
			dname_to_lower(lower);
			char s[DNAME_STR_MAX];
			dname_to_str(lower, s, sizeof(s));
			size_t used = strlen(out);
			snprintf(out + used, len - used, "%s%s", used ? " " : "", s);
		}
	}
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(q);
	ldns_resolver_deep_free(r);
	return ok;
}

/* Word sets equal, in any order? */
static bool same_set(const char *a, const char *b)
{
	char x[4096], y[4096];
	snprintf(x, sizeof(x), " %s ", a);
	snprintf(y, sizeof(y), " %s ", b);
	char *save = NULL;
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", a);
	size_t na = 0, nb = 0;
	for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		char pat[1100];
		snprintf(pat, sizeof(pat), " %s ", w);
		if (strstr(y, pat) == NULL) {
			return false;
		}
		na++;
	}
	snprintf(copy, sizeof(copy), "%s", b);
	for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		nb++;
	}
	return na == nb && na > 0;
}

/* SOA serial of apex at one server (no recursion); -1 on failure. */
static long soa_serial_at(const char *addr, long port, const uint8_t *apex)
{
	char spec[128];
	snprintf(spec, sizeof(spec), strchr(addr, ':') ? "[%s]:%ld" : "%s:%ld", addr, port);
	ldns_resolver *r = dns01_make_resolver(spec);
	if (r == NULL) {
		return -1;
	}
	ldns_resolver_set_recursive(r, false);
	ldns_rdf *q = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME,
	                                    (size_t)dname_wire_length(apex, DNS_MAX_NAME), apex);
	ldns_pkt *pkt = q ? ldns_resolver_query(r, q, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0) : NULL;
	long serial = -1;
	ldns_rr_list *answer = pkt ? ldns_pkt_answer(pkt) : NULL;
	for (size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); i++) {
		ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rdf(rr, 2) != NULL) {
			serial = (long)ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		}
	}
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(q);
	ldns_resolver_deep_free(r);
	return serial;
}

static void check_serials(const ctl_t *ctl, db_t *db, const uint8_t *apex, const char *zone_text,
                          report_t *rep)
{
	MDB_txn *txn;
	zone_record_t zone;
	if (db_read_begin(db, &txn) != CD_OK) {
		return;
	}
	if (zone_store_get(db, txn, apex, &zone) != CD_OK) {
		mdb_txn_abort(txn);
		return;
	}
	uint32_t ours = zone.serial;
	dns01_config_t cfg = { .check_ns = false };
	json_t *servers = dns01_zone_servers(db, txn, &cfg, apex);
	mdb_txn_abort(txn);
	(void)ctl;
	char detail[4096];
	snprintf(detail, sizeof(detail), "%s serial %u here", zone_text, ours);
	int ok = 1;
	size_t i;
	json_t *s;
	json_array_foreach(servers, i, s) {
		const char *addr = json_string_value(json_object_get(s, "address"));
		long port = (long)json_integer_value(json_object_get(s, "port"));
		long serial = addr ? soa_serial_at(addr, port, apex) : -1;
		size_t used = strlen(detail);
		if (serial < 0) {
			snprintf(detail + used, sizeof(detail) - used, "; %s:%ld does not answer", addr, port);
			ok = 0;
		} else {
			snprintf(detail + used, sizeof(detail) - used, "; %s:%ld has %ld", addr, port, serial);
			if ((uint32_t)serial != ours) {
				ok = 0;
			}
		}
	}
	json_decref(servers);
	add(rep, "serials", ok, detail, ok ? NULL : "check the secondaries' logs: NOTIFY, transfer "
	    "ACL and TSIG key (certdnsctl zone show)");
}

int cmd_check(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "resolver", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *resolver = NULL;
	uint32_t account = 0;
	int c;
	optind = 0;   /* GNU getopt starts afresh */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': account = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': resolver = optarg; break;
		default: return cli_usage_error("check: unknown option");
		}
	}
	if (argc - optind != 1) {
		return cli_usage_error("usage: check NAME [--account ID] [--resolver ADDR[:PORT]]");
	}
	const char *ident = argv[optind];
	const char *base = strncmp(ident, "*.", 2) == 0 ? ident + 2 : ident;
	uint8_t name[DNS_MAX_NAME];
	if (zonefile_parse_name(base, name) < 0) {
		return cli_usage_error("'%s' is not a domain name", ident);
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	report_t rep = { .checks = json_array() };
	MDB_txn *txn;
	json_t *settings = NULL;
	if (db_read_begin(db, &txn) == CD_OK) {
		settings = db_settings_get(db, txn);
		mdb_txn_abort(txn);
	}
	const char *acme_zone = json_string_value(json_object_get(settings, "acme_zone"));
	char detail[8192], fix[4096];

	/* 1. Is the domain ours and delegated to us? */
	uint8_t apex[DNS_MAX_NAME];
	bool ours = our_zone(db, name, apex);
	char zone_text[DNAME_STR_MAX] = "";
	if (ours) {
		dname_to_str(apex, zone_text, sizeof(zone_text));
		char want[4096], seen[4096];
		our_ns(db, apex, want, sizeof(want));
		if (!public_ns(resolver, apex, seen, sizeof(seen))) {
			snprintf(detail, sizeof(detail), "%s is hosted here; its delegation cannot be looked up "
			         "(resolver %s)", zone_text, resolver ? resolver : "from /etc/resolv.conf");
			add(&rep, "delegation", -1, detail, NULL);
		} else if (same_set(want, seen)) {
			snprintf(detail, sizeof(detail), "%s is hosted here and delegated to our name servers (%s)",
			         zone_text, want);
			add(&rep, "delegation", 1, detail, NULL);
		} else {
			snprintf(detail, sizeof(detail), "%s is hosted here, but the world sees NS %s", zone_text,
			         seen[0] ? seen : "(none)");
			snprintf(fix, sizeof(fix), "at the registrar of %s, set the name servers to: %s",
			         zone_text, want);
			add(&rep, "delegation", 0, detail, fix);
		}
	}

	/* 2. Where the challenge TXT goes (or the CNAME to create). */
	dns01_config_t dcfg = { .resolver = resolver, .acme_zone = acme_zone };
	dns01_target_t target;
	char err[2048] = "";
	int ret = dns01_find_target(db, &dcfg, ident, &target, err, sizeof(err));
	if (ret == CD_OK) {
		snprintf(detail, sizeof(detail), "%s%s%s: the TXT record goes to %s in our zone %s",
		         target.challenge, target.via_cname ? " is a CNAME to " : "",
		         target.via_cname ? target.target_text : "", target.target_text, target.zone_text);
		add(&rep, "challenge", 1, detail, NULL);
	} else {
		/* The record to create is quoted in the message: offer it as the fix. */
		char *q1 = strchr(err, '\'');
		char *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
		if (q1 != NULL && q2 != NULL) {
			snprintf(fix, sizeof(fix), "create the record %.*s", (int)(q2 - q1 + 1), q1);
		}
		add(&rep, "challenge", ret == CD_ENET ? -1 : 0, err, q1 && q2 ? fix : NULL);
	}

	/* 3. CAA, for the account's CA. */
	if (account == 0 && db_read_begin(db, &txn) == CD_OK) {
		int err2;
		for (uint32_t id = 1; id < 64 && account == 0; id++) {
			json_t *a = acme_store_get(db, txn, ACME_STORE_ACCOUNTS, id, &err2);
			if (a != NULL) {
				account = id;
				json_decref(a);
			}
		}
		mdb_txn_abort(txn);
	}
	vault_t vault;
	acme_client_t *client = NULL;
	if (account != 0 && vault_open(&vault, ctl->db_dir, 0) == CD_OK) {
		if (acme_account_client(db, &vault, account, &client, err, sizeof(err)) != CD_OK) {
			client = NULL;
		}
		vault_close(&vault);
	}
	const acme_directory_t *dir = NULL;
	if (client == NULL || acme_client_directory(client, &dir, NULL) != CD_OK) {
		add(&rep, "caa", -1, account == 0 ? "no ACME account: CAA is checked against the CA's "
		    "identities once an account exists" : "the CA's directory cannot be read", NULL);
	} else {
		json_t *ids = json_object_get(json_object_get(dir->json, "meta"), "caaIdentities");
		const char *list[8];
		size_t n = 0, i;
		json_t *v;
		json_array_foreach(ids, i, v) {
			if (json_is_string(v) && n < 8) {
				list[n++] = json_string_value(v);
			}
		}
		if (n == 0) {
			add(&rep, "caa", -1, "the CA publishes no CAA identities (meta.caaIdentities)", NULL);
		} else {
			caa_result_t caa;
			caa_check(db, resolver, ident, list, n, acme_client_account_url(client), &caa);
			add(&rep, "caa", caa.verdict == CAA_ALLOWED ? 1 : caa.verdict == CAA_FORBIDDEN ? 0 : -1,
			    caa.detail, caa.suggestion[0] ? caa.suggestion : NULL);
		}
	}
	acme_client_free(client);

	/* 4. Do all authoritative servers of the zone agree on the serial? */
	if (ours) {
		check_serials(ctl, db, apex, zone_text, &rep);
	}
	json_decref(settings);
	db_close(db);

	if (ctl->json) {
		cli_print_json(json_pack("{s:s, s:b, s:O}", "name", ident, "ok", rep.problems == 0,
		                         "checks", rep.checks));
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(rep.checks, i, v) {
			json_t *ok = json_object_get(v, "ok");
			printf("%-5s %-10s %s\n", json_is_null(ok) ? "?" : json_is_true(ok) ? "ok" : "WRONG",
			       json_string_value(json_object_get(v, "check")),
			       json_string_value(json_object_get(v, "detail")));
			if (json_string_value(json_object_get(v, "fix")) != NULL) {
				printf("      %-10s fix: %s\n", "", json_string_value(json_object_get(v, "fix")));
			}
		}
	}
	json_decref(rep.checks);
	return rep.problems == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
