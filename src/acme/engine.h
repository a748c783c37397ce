#pragma once
/*
 * The ACME engine: one thread of certdnsd that carries out every certificate
 * request stored in the database, one persisted step at a time, so a killed
 * daemon resumes each order where it stopped (the order URL is stored before
 * anything depends on it: no duplicate orders).
 *
 * States of a certificate record (db/acme_store.h) and what moves them on:
 *   requested   -> find where each _acme-challenge TXT goes (dns01), newOrder  -> ordered
 *   ordered     -> read the authorizations, write the TXT records            -> published
 *   published   -> every other server of the zones serves them (or timeout)  -> validating
 *   validating  -> challenges answered; authorizations valid                 -> authorized
 *   authorized  -> key generated and sealed, CSR, finalize                   -> finalizing
 *   finalizing  -> order valid, chain downloaded and stored, TXT removed      -> issued
 *   any failure -> TXT removed, the CA's problem document kept               -> failed
 * Rate limits (429) and unavailability (503) wait for Retry-After; a CA out
 * of reach, answering garbage or 5xx is retried after 1 min, doubling up to
 * an hour; none of these fails the certificate.
 *
 * Blocking HTTP on its own thread (certs are handled one after another); the
 * DNS workers are never touched.  Woken by certdnsctl through the control
 * socket ("acme-wake") and by its own timers.
 */

#include <stdint.h>

#include "db/db.h"

typedef struct acme_engine acme_engine_t;

typedef struct {
	db_t *db;
	const char *db_dir;                 /* for the master key */
	const char *resolver;               /* "ADDR[:PORT]" for CNAME/NS look-ups, NULL: resolv.conf */
	const char *const *self_addresses;  /* our listen addresses, no ports */
	size_t nself;
	void (*zone_changed)(void *ctx);    /* a challenge record was written or removed */
	void *ctx;
} acme_engine_config_t;

/* Starts the thread.  Returns 0, CD_ENOMEM. */
int acme_engine_start(const acme_engine_config_t *cfg, acme_engine_t **out);

/* Makes the engine look for work now (any thread). */
void acme_engine_wake(acme_engine_t *e);

/* Stops the thread and frees the engine: a request waiting for the CA is abandoned (its
 * step is redone at the next start).  NULL is allowed. */
void acme_engine_stop(acme_engine_t *e);
