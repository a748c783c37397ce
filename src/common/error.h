#pragma once
/*
 * One error convention for all of certdns: functions return int, 0 on success
 * and a negative CD_E* code on failure.  cd_strerror() gives the one message
 * for each code; callers add the thing that failed (file, zone, name).
 */

enum {
	CD_OK = 0,
	CD_ENOMEM = -1000,   /* out of memory */
	CD_EINVAL,           /* invalid argument */
	CD_ENOTFOUND,        /* no such zone, name or record */
	CD_EEXISTS,          /* already exists */
	CD_EDB,              /* LMDB reported an error (details logged) */
	CD_EMAPFULL,         /* the LMDB map is full (grow it with --map-size) */
	CD_ESYNTAX,          /* zone file or presentation-format syntax error */
	CD_ESEMANTIC,        /* zone content violates DNS rules */
	CD_EMALF,            /* malformed wire data */
	CD_ESPACE,           /* does not fit in the output buffer */
	CD_EIO,              /* I/O error (errno logged) */
	CD_ENOZONE,          /* name is not inside any of our zones */
	CD_ELIMIT,           /* a configured limit was reached */
	CD_EVERSION,         /* stored data has an unknown format version */
	CD_ECRYPTO,          /* a cryptographic operation failed (OpenSSL) */
	CD_ENET,             /* network or TLS failure talking to a server (timeout, refused, ...) */
	CD_EPROTO,           /* a server's response does not follow its protocol */
	CD_EACME,            /* the ACME server refused the request (problem document returned) */
	CD_ERETRYLATER,      /* the server is rate limiting or unavailable: retry after its delay */
	CD_EPERM,            /* unsafe file owner or mode, or root not dropped (the fix is logged) */
	CD_ENOSPC,           /* no space left on the device (ENOSPC): nothing was written */
	CD_ERROR_LAST
};

const char *cd_strerror(int code);
