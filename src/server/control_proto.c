#include "server/control_proto.h"

#include <jansson.h>
#include <string.h>

#include "common/error.h"

long control_request_end(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	return nl != NULL ? (long)(nl - buf) : -1;
}

int control_request_parse(const char *line, size_t len, control_request_t *req,
                          const char **error)
{
	memset(req, 0, sizeof(*req));
	json_t *obj = json_loadb(line, len, 0, NULL);
	const char *cmd = json_string_value(json_object_get(obj, "cmd"));
	int ret = CD_EINVAL;
	if (!json_is_object(obj) || cmd == NULL) {
		*error = "a request is {\"cmd\": ...}";
		goto out;
	}
	if (strcmp(cmd, "status") == 0) {
		req->cmd = CONTROL_CMD_STATUS;
	} else if (strcmp(cmd, "zone-changed") == 0) {
		req->cmd = CONTROL_CMD_ZONE_CHANGED;
		const json_t *zone = json_object_get(obj, "zone");
		if (zone != NULL && !json_is_null(zone)) {
			const char *z = json_string_value(zone);
			if (z == NULL || json_string_length(zone) >= sizeof(req->zone) ||
			    strlen(z) != json_string_length(zone)) {
				*error = "\"zone\" must be a zone name";
				goto out;
			}
			memcpy(req->zone, z, json_string_length(zone) + 1);
		}
	} else if (strcmp(cmd, "acme-wake") == 0) {
		req->cmd = CONTROL_CMD_ACME_WAKE;
	} else {
		*error = "unknown command";
		goto out;
	}
	ret = CD_OK;
out:
	json_decref(obj);
	return ret;
}
