#pragma once
/*
 * Splitting a master file (RFC 1035 5.1) into entries: one line, or several
 * joined by parentheses, with comments removed and parentheses turned into
 * spaces, so that each entry is one line of text that ldns can parse as a
 * record (ldns_rr_new_frm_str) or that is a $ directive.  Quoted strings and
 * backslash escapes are kept as they are, so ';', '(' and ')' inside them are
 * data.  The reader knows the line each entry started on, for messages.
 *
 * This replaces ldns's own line reader (ldns_rr_new_frm_fp_l) on the import
 * path: that one reads a character at a time through getc() and tokenizes
 * every entry twice, which made it the largest cost of a big import.
 */

#include <stdio.h>

typedef struct {
	FILE *fp;
	char *line;           /* getline() buffer */
	size_t line_cap;
	char *entry;          /* the current entry, NUL-terminated */
	size_t entry_len;
	size_t entry_cap;
	unsigned lineno;      /* lines read so far */
	unsigned entry_line;  /* the line the current entry starts on */
	const char *error;    /* what was wrong, when zf_entry_next returns ZF_ENTRY_ERROR */
} zf_entry_reader_t;

typedef enum {
	ZF_ENTRY_OK = 0,      /* reader->entry holds the next entry (never blank) */
	ZF_ENTRY_EOF,         /* no more entries */
	ZF_ENTRY_ERROR,       /* a syntax error: reader->error says which, at entry_line;
	                         reading may go on with the next line */
	ZF_ENTRY_IOERROR,     /* reading failed: errno is set */
	ZF_ENTRY_NOMEM,
} zf_entry_status_t;

/* Starts reading fp (the caller keeps owning it). */
void zf_entry_reader_init(zf_entry_reader_t *reader, FILE *fp);

/* Frees the reader's buffers. */
void zf_entry_reader_free(zf_entry_reader_t *reader);

/* Reads the next entry, skipping blank and comment-only lines. */
zf_entry_status_t zf_entry_next(zf_entry_reader_t *reader);
