#pragma once
/*
 * Sending NOTIFY (RFC 1996) to the secondaries of zones that changed.
 * Runs on the control thread's loop.  notifier_check() compares every zone's
 * serial with the last one announced and sends NOTIFY for each change to
 * every configured secondary (TSIG-signed when the secondary has a key),
 * retrying with back-off (1, 2, 4, 8, 16 s) until the secondary answers.
 * The first check after start announces every zone that has secondaries, so
 * changes made while the daemon was down reach them too.
 */

#include <uv.h>

#include "db/db.h"

typedef struct notifier notifier_t;

/* Returns 0 or CD_EIO / CD_ENOMEM (logged). */
int notifier_start(uv_loop_t *loop, db_t *db, notifier_t **out);

/* Looks for changed zones now. */
void notifier_check(notifier_t *n);

/* NOTIFY messages still waiting for an answer. */
unsigned notifier_pending(const notifier_t *n);

/* Closes its handles; freed once the loop has run their close callbacks. */
void notifier_close(notifier_t *n);
