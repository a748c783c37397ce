#pragma once
/*
 * The control socket's protocol, as pure functions (no I/O, no libuv): a
 * request is one line of JSON, at most CONTROL_REQUEST_MAX - 1 bytes with its
 * newline, and is answered with one line of JSON.  control.c reads the bytes
 * and carries the request out; certdnsctl (src/cli/cli.c) writes them.
 *
 * Requests: {"cmd":"status"}
 *           {"cmd":"zone-changed", "zone":"NAME"}   ("zone" optional)
 *           {"cmd":"acme-wake"}
 * Other members are ignored, so older daemons accept newer requests.
 */

#include <stdbool.h>
#include <stddef.h>

#define CONTROL_REQUEST_MAX 4096
#define CONTROL_ZONE_MAX 1024     /* a zone name in presentation format, with its NUL */

typedef enum {
	CONTROL_CMD_STATUS,
	CONTROL_CMD_ZONE_CHANGED,
	CONTROL_CMD_ACME_WAKE,
} control_cmd_t;

typedef struct {
	control_cmd_t cmd;
	char zone[CONTROL_ZONE_MAX];   /* zone-changed: the zone named, "" when none */
} control_request_t;

/*
 * Finds the end of the first request in buf[0..len), the bytes read so far.
 * Returns the length of the line without its newline, or -1 when no newline
 * has arrived yet.  (Whether -1 with len >= CONTROL_REQUEST_MAX - 1 means
 * "too long" is the reader's call: it owns the buffer.)
 */
long control_request_end(const char *buf, size_t len);

/*
 * Parses one request line (line[0..len), no newline; it need not be
 * NUL-terminated and may hold any bytes).  Returns 0 and fills req, or
 * CD_EINVAL with *error set to a static message for the error reply: not a
 * JSON object, no "cmd" string, an unknown command, a "zone" that is not a
 * string or is too long.
 */
int control_request_parse(const char *line, size_t len, control_request_t *req,
                          const char **error);
