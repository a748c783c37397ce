#pragma once
/*
 * Writing a certificate out for a web server: DIR/fullchain.pem, privkey.pem
 * (0600), chain.pem and cert.pem, each written to a temporary file, synced
 * and renamed over the old one, so a reader never sees half a file.  And the
 * deploy hook that tells the web server (e.g. "systemctl reload nginx").
 */

#include <stddef.h>
#include <stdint.h>

/*
 * Writes the four files.  chain is the PEM chain, leaf first.  All four are
 * written and synced to temporary files before the first is renamed into
 * place, so a failure (a full disk) leaves the previous set whole.  Returns 0,
 * or CD_ENOSPC (the disk is full) or CD_EIO, with the reason in err (the file
 * and errno).
 */
int cert_export_files(const char *dir, const char *chain, const char *key_pem, size_t key_len,
                      char *err, size_t errlen);

/*
 * Runs "/bin/sh -c command" with CERTDNS_CERT_ID, CERTDNS_NAMES (space
 * separated), CERTDNS_DIR, CERTDNS_FULLCHAIN, CERTDNS_PRIVKEY, CERTDNS_CHAIN and
 * CERTDNS_CERT in its environment, waits up to timeout_s seconds (then kills
 * it).  Returns its exit status (0-255), or -1 when it could not run or was
 * killed (err says which).
 */
int cert_run_deploy_hook(const char *command, uint32_t id, const char *names, const char *dir,
                         unsigned timeout_s, char *err, size_t errlen);
