/*
 * fuzz_control: the control socket's request parsing
 * (src/server/control_proto.c) on arbitrary bytes, the way control.c reads
 * them: the first line (control_request_end) is the request; the whole input
 * is also parsed as one line.
 *
 * Invariants: a line ends at the first newline; parsing succeeds or fails
 * with CD_EINVAL and a message; a parsed request has a known command and a
 * NUL-terminated zone; a request that parses names "cmd" as one of the three
 * commands (checked independently with jansson).
 */
#include <jansson.h>

#include "common/error.h"
#include "server/control_proto.h"

#include "fuzzing.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void parse_and_check(const char *line, size_t len)
{
	control_request_t req;
	const char *error = NULL;
	int ret = control_request_parse(line, len, &req, &error);
	FUZZ_CHECK(ret == CD_OK || ret == CD_EINVAL, "returned %d", ret);
	if (ret != CD_OK) {
		FUZZ_CHECK(error != NULL && *error != '\0', "a refusal without a message");
		return;
	}
	FUZZ_CHECK(req.cmd == CONTROL_CMD_STATUS || req.cmd == CONTROL_CMD_ZONE_CHANGED ||
	           req.cmd == CONTROL_CMD_ACME_WAKE, "command %d", (int)req.cmd);
	FUZZ_CHECK(memchr(req.zone, '\0', sizeof(req.zone)) != NULL, "zone not terminated");
	FUZZ_CHECK(req.cmd == CONTROL_CMD_ZONE_CHANGED || req.zone[0] == '\0',
	           "a zone on a command that takes none");

	/* Independently: the JSON is an object whose "cmd" is that command. */
	json_t *obj = json_loadb(line, len, 0, NULL);
	const char *cmd = json_string_value(json_object_get(obj, "cmd"));
	static const char *const names[] = { "status", "zone-changed", "acme-wake" };
	FUZZ_CHECK(json_is_object(obj) && cmd != NULL && strcmp(cmd, names[req.cmd]) == 0,
	           "parsed as %s, but cmd is %s", names[req.cmd], cmd ? cmd : "(none)");
	const char *zone = json_string_value(json_object_get(obj, "zone"));
	FUZZ_CHECK(req.cmd != CONTROL_CMD_ZONE_CHANGED || strcmp(req.zone, zone ? zone : "") == 0,
	           "zone %s parsed as %s", zone ? zone : "(none)", req.zone);
	json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	/* control.c reads at most CONTROL_REQUEST_MAX - 1 bytes before giving up. */
	size_t window = size < CONTROL_REQUEST_MAX - 1 ? size : CONTROL_REQUEST_MAX - 1;
	long end = control_request_end(buf, window);
	const char *nl = memchr(buf, '\n', window);
	FUZZ_CHECK(nl != NULL ? end == nl - buf : end == -1, "line end %ld", end);
	if (end >= 0) {
		parse_and_check(buf, (size_t)end);
	}
	parse_and_check(buf, size);
	return 0;
}
