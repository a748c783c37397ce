#pragma once
/*
 * The control thread: its own libuv loop serving the control socket
 * (DBDIR/control.sock, mode 0600, one JSON request per line, one JSON reply),
 * and sending NOTIFY when zones change -- when certdnsctl pokes it after a
 * write, and by itself every few seconds for changes made any other way.
 *
 * It also keeps followed zones (certdnsd as a secondary) in step with their
 * primaries: a SOA check at the SOA refresh interval (retry after failures)
 * and at once when a NOTIFY arrives; transfers run on the libuv thread pool.
 *
 * Requests: {"cmd":"status"} -> daemon state and counters;
 *           {"cmd":"zone-changed","zone":"NAME"} -> check for changes now;
 *           {"cmd":"acme-wake"} -> the ACME engine looks for work now.
 */

#include <jansson.h>

#include "db/db.h"

typedef struct control control_t;

/* Builds the "status" reply; called on the control thread. */
typedef json_t *(*control_status_cb)(void *ctx);

/*
 * Binds the socket and starts the thread.  Returns 0, CD_EEXISTS (another
 * certdnsd answers on this database's socket), CD_EIO (logged), CD_ENOMEM.
 */
int control_start(db_t *db, const char *db_dir, control_status_cb status, void *ctx,
                  control_t **out);

/* Asks for an immediate check of followed zones at their primaries (any thread). */
void control_wake(control_t *c);

/* Gives the control socket's "acme-wake" request somewhere to go (any thread). */
void control_set_acme_wake(control_t *c, void (*wake)(void *ctx), void *ctx);

/* Stops the thread, removes the socket and frees everything. */
void control_stop(control_t *c);
