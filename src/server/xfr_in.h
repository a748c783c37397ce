#pragma once
/*
 * certdnsd as a secondary: pulling a zone from its primary (SOA check, then
 * IXFR when we hold a version, else AXFR; TSIG-signed and verified when the
 * zone's primary has a key) and applying it -- a full transfer through the
 * zone builder (atomic replace), an incremental one through zone edits with
 * the primary's exact serials, all in one transaction.  Blocking: it runs on
 * a libuv thread-pool thread, never on a loop.
 *
 * A followed zone is configured with "primary": {"address", "port", "tsig"}
 * in its zone configuration (certdnsctl zone follow).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "db/db.h"
#include "db/tsig_store.h"
#include "dns/wire.h"

typedef struct {
	uint8_t apex[DNS_MAX_NAME];
	char zone[1024];                 /* presentation, for messages */
	struct sockaddr_storage primary;
	socklen_t primary_len;
	char primary_text[80];
	bool has_key;
	tsig_key_t key;
} xfr_in_request_t;

typedef struct {
	bool changed;
	bool full;                       /* AXFR (else IXFR) */
	uint32_t old_serial, serial;
	uint32_t refresh, retry;         /* from the SOA, for the next check */
	size_t records;
	char error[512];                 /* set when the pull failed */
} xfr_in_result_t;

/* Checks the primary and transfers when it has a newer serial.  Returns 0 or a CD_E* code (res->error says why). */
int xfr_in_run(db_t *db, const xfr_in_request_t *req, xfr_in_result_t *res);
