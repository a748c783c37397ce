#pragma once
/*
 * Certification Authority Authorization (RFC 8659, with RFC 8657's
 * accounturi and validationmethods): may this CA, with this account, issue
 * for a name?  The relevant CAA RRset is found by climbing from the name
 * toward the top-level domain (our own zones are read directly, other names
 * through the resolver, which follows CNAMEs); issuewild governs wildcards
 * when present.
 */

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"

typedef enum {
	CAA_ALLOWED,        /* no relevant CAA, or a property that allows this CA and account */
	CAA_FORBIDDEN,      /* the relevant CAA RRset does not allow it (see suggestion) */
	CAA_UNKNOWN,        /* a look-up failed: the CA will decide */
} caa_verdict_t;

typedef struct {
	caa_verdict_t verdict;
	char owner[1100];        /* where the relevant RRset was found ("" when none) */
	char detail[2600];       /* one sentence for people */
	char suggestion[2600];   /* the record that would allow issuance, zone-file form */
} caa_result_t;

/*
 * Checks identifier ("example.com" or "*.example.com") for a CA known by
 * ca_ids (its directory's meta.caaIdentities, n >= 1) and account_url (NULL:
 * ignore accounturi).  resolver: "ADDR[:PORT]", NULL for /etc/resolv.conf.
 */
void caa_check(db_t *db, const char *resolver, const char *identifier, const char *const *ca_ids,
               size_t n, const char *account_url, caa_result_t *res);
