#pragma once
/*
 * The DNS side of the dns-01 challenge (RFC 8555 8.4) on our own zones.
 *
 * Where the TXT goes: for identifier X or *.X the record is _acme-challenge.X.
 * If that name is authoritative data of one of our zones, there -- unless it
 * holds a CNAME, which is followed inside our zones.  Otherwise it must be a
 * CNAME (found through the resolver) into one of our zones: the
 * CNAME-delegation target.  A missing or foreign CNAME is an error that names
 * the record to create.
 *
 * Propagation: the record is live here at commit.  The other servers of the
 * target's zone -- its configured secondaries, and the hosts of its NS set
 * that are not this daemon -- are asked directly (no recursion) until every
 * one serves every value.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "dns/wire.h"

typedef struct {
	char challenge[DNS_MAX_NAME * 4 + 2];   /* _acme-challenge.X. */
	uint8_t target[DNS_MAX_NAME];           /* where the TXT goes (wire) */
	char target_text[DNS_MAX_NAME * 4 + 2];
	uint8_t zone[DNS_MAX_NAME];             /* our zone holding the target */
	char zone_text[DNS_MAX_NAME * 4 + 2];
	bool via_cname;
} dns01_target_t;

typedef struct {
	const char *resolver;        /* "ADDR[:PORT]" for CNAME and NS look-ups; NULL: /etc/resolv.conf */
	const char *acme_zone;       /* our zone for CNAME targets, to suggest in errors; may be NULL */
	uint16_t ns_port;            /* port of NS hosts (53; tests use others) */
	bool check_ns;               /* also wait for the NS set's other hosts */
	const char *const *self;     /* our listen addresses (text, no port): NS hosts that are us */
	size_t nself;
} dns01_config_t;

/* A recursive resolver at spec ("ADDR[:PORT]"), or from /etc/resolv.conf when NULL. */
struct ldns_struct_resolver;
struct ldns_struct_resolver *dns01_make_resolver(const char *spec);

/*
 * Finds where the TXT for identifier ("example.com" or "*.example.com") goes.
 * Returns 0, or CD_ENOZONE with a message in err that names the record to
 * create, CD_ENET (the resolver does not answer), CD_EINVAL (bad identifier).
 */
int dns01_find_target(db_t *db, const dns01_config_t *cfg, const char *identifier,
                      dns01_target_t *out, char *err, size_t errlen);

/*
 * Adds (add=true) or removes TXT values at targets, one transaction per zone;
 * removing what is gone already is fine.  ttl for the records.  Returns 0 or
 * a CD_E* code with a message in err.
 */
int dns01_write(db_t *db, const dns01_target_t *targets, const char *const *values, size_t n,
                bool add, uint32_t ttl, char *err, size_t errlen);

/*
 * The other authoritative servers of our zone at apex: [{"address", "port"}],
 * its secondaries and (with check_ns) its NS hosts that are not this daemon.
 * A new reference.
 */
#include <jansson.h>
#include <lmdb.h>
json_t *dns01_zone_servers(db_t *db, MDB_txn *txn, const dns01_config_t *cfg, const uint8_t *apex);

/*
 * Asks every other authoritative server of each target's zone whether it
 * serves all values at the target.  Returns 0 when all do, CD_ELIMIT when
 * some do not yet (err lists them), another code on failure.
 */
int dns01_check_propagation(db_t *db, const dns01_config_t *cfg, const dns01_target_t *targets,
                            const char *const *values, size_t n, char *err, size_t errlen);
