#include "common/error.h"

#include <lmdb.h>

const char *cd_strerror(int code)
{
	switch (code) {
	case CD_OK:         return "success";
	case CD_ENOMEM:     return "out of memory";
	case CD_EINVAL:     return "invalid argument";
	case CD_ENOTFOUND:  return "not found";
	case CD_EEXISTS:    return "already exists";
	case CD_EDB:        return "database error";
	case CD_EMAPFULL:   return "the database map is full (grow it with --map-size: see "
	                           "'When the database is full' in doc/hosting.md)";
	case CD_ESYNTAX:    return "syntax error";
	case CD_ESEMANTIC:  return "zone content violates DNS rules";
	case CD_EMALF:      return "malformed wire data";
	case CD_ESPACE:     return "does not fit in the buffer";
	case CD_EIO:        return "input/output error";
	case CD_ENOZONE:    return "name is not inside any hosted zone";
	case CD_ELIMIT:     return "limit reached";
	case CD_EVERSION:   return "unsupported stored data version";
	case CD_ECRYPTO:    return "cryptographic operation failed";
	case CD_ENET:       return "network or TLS error";
	case CD_EPROTO:     return "unexpected response from the server";
	case CD_EACME:      return "the ACME server refused the request";
	case CD_ERETRYLATER: return "the server asks to retry later";
	case CD_EPERM:      return "unsafe owner or permissions, or privileges not dropped";
	case CD_ENOSPC:     return "no space left on the device (ENOSPC)";
	default:            return "unknown error";
	}
}
