#include "server/notify_in.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/log.h"
#include "db/zone_conf.h"
#include "dns/dname.h"
#include "dns/response.h"
#include "dns/tsig.h"
#include "dns/wire.h"

typedef struct {
	db_t *db;
	MDB_txn *txn;
} lookup_ctx_t;

static int lookup_key(void *arg, const char *name, tsig_key_t *key)
{
	lookup_ctx_t *l = arg;
	return tsig_store_get(l->db, l->txn, name, key);
}

static bool from_address(const char *text, const struct sockaddr *peer)
{
	uint8_t a[16];
	if (text == NULL) {
		return false;
	}
	if (peer->sa_family == AF_INET && inet_pton(AF_INET, text, a) == 1) {
		return memcmp(a, &((const struct sockaddr_in *)peer)->sin_addr, 4) == 0;
	}
	if (peer->sa_family == AF_INET6 && inet_pton(AF_INET6, text, a) == 1) {
		return memcmp(a, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16) == 0;
	}
	return false;
}

static bool same_key(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	la -= la > 0 && a[la - 1] == '.';
	lb -= lb > 0 && b[lb - 1] == '.';
	return la == lb && strncasecmp(a, b, la) == 0;
}

size_t notify_in_answer(db_t *db, const struct sockaddr *peer, const uint8_t *pkt, size_t len,
                        const dns_query_t *q, uint8_t *out, size_t cap, uint16_t *rcode,
                        bool *accepted)
{
	*accepted = false;
	*rcode = DNS_RCODE_REFUSED;
	resp_t r;
	dns_query_t echo = *q;
	echo.has_edns = false;
	resp_init(&r, out, cap < 512 ? cap : 512, pkt, &echo);
	char zone[DNAME_STR_MAX];
	dname_to_str(q->qname, zone, sizeof(zone));
	MDB_txn *txn = NULL;
	json_t *conf = NULL;
	tsig_ctx_t tc;
	bool signed_ok = false;
	if (q->qtype != DNS_TYPE_SOA || db_read_begin(db, &txn) != CD_OK) {
		*rcode = q->qtype != DNS_TYPE_SOA ? DNS_RCODE_FORMERR : DNS_RCODE_SERVFAIL;
		goto answer;
	}
	conf = zone_conf_get(db, txn, q->qname);
	json_t *primary = conf ? json_object_get(conf, "primary") : NULL;
	if (primary == NULL) {
		*rcode = DNS_RCODE_NOTAUTH;   /* we are no secondary for this zone */
		goto answer;
	}
	const char *want_key = json_string_value(json_object_get(primary, "tsig"));
	if (q->tsig != NULL) {
		char key_name[1024];
		lookup_ctx_t l = { db, txn };
		if (tsig_verify_request(pkt, len, lookup_key, &l, &tc, key_name, sizeof(key_name)) != 0 ||
		    (want_key != NULL && !same_key(want_key, key_name))) {
			log_info("NOTIFY for %s: TSIG key '%s' does not verify or is not the primary's",
			         zone, key_name);
			*rcode = DNS_RCODE_NOTAUTH;
			goto answer;
		}
		signed_ok = true;
	} else if (want_key != NULL) {
		log_info("NOTIFY for %s: unsigned, but the primary uses TSIG key %s", zone, want_key);
		*rcode = DNS_RCODE_REFUSED;
		goto answer;
	}
	if (!signed_ok && !from_address(json_string_value(json_object_get(primary, "address")), peer)) {
		log_info("NOTIFY for %s from an address that is not its primary: ignored", zone);
		*rcode = DNS_RCODE_REFUSED;
		goto answer;
	}
	*rcode = DNS_RCODE_NOERROR;
	*accepted = true;
answer:
	json_decref(conf);
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	resp_set_flag(&r, DNS_FLAG_AA, *rcode == DNS_RCODE_NOERROR);
	resp_set_rcode(&r, *rcode);
	size_t n = resp_finish(&r);
	if (signed_ok) {
		n = tsig_sign_response(&tc, out, n, cap);
	}
	return n;
}
