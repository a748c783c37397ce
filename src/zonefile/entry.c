#include "zonefile/entry.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void zf_entry_reader_init(zf_entry_reader_t *reader, FILE *fp)
{
	memset(reader, 0, sizeof(*reader));
	reader->fp = fp;
}

void zf_entry_reader_free(zf_entry_reader_t *reader)
{
	free(reader->line);
	free(reader->entry);
	reader->line = NULL;
	reader->entry = NULL;
}

static bool reserve(zf_entry_reader_t *r, size_t more)
{
	if (r->entry_len + more + 1 <= r->entry_cap) {
		return true;
	}
	size_t cap = r->entry_cap ? r->entry_cap : 256;
	while (cap < r->entry_len + more + 1) {
		cap *= 2;
	}
	char *n = realloc(r->entry, cap);
	if (n == NULL) {
		return false;
	}
	r->entry = n;
	r->entry_cap = cap;
	return true;
}

static bool is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t') {
			return false;
		}
	}
	return true;
}

/* Line length without its line ending. */
static size_t chomp(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
		len--;
	}
	return len;
}

/*
 * Appends one line of an entry, dropping its comment and turning parentheses
 * into spaces.  *depth is the parenthesis depth carried from line to line.
 * Returns NULL or what is wrong with the line.
 */
static const char *append_line(zf_entry_reader_t *r, const char *line, size_t len, int *depth)
{
	char *out = r->entry + r->entry_len;
	bool quoted = false;
	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		if (c == '\\') {
			/* An escape: the next character (or \DDD's first digit) is data. */
			*out++ = c;
			if (i + 1 < len) {
				*out++ = line[++i];
			}
			continue;
		}
		if (quoted) {
			quoted = c != '"';
			*out++ = c;
			continue;
		}
		switch (c) {
		case '"':
			quoted = true;
			*out++ = c;
			break;
		case ';':
			i = len;   /* the rest of the line is a comment */
			break;
		case '(':
			(*depth)++;
			*out++ = ' ';
			break;
		case ')':
			if (*depth == 0) {
				r->entry_len = (size_t)(out - r->entry);
				return "')' without a matching '('";
			}
			(*depth)--;
			*out++ = ' ';
			break;
		default:
			*out++ = c;
		}
	}
	r->entry_len = (size_t)(out - r->entry);
	return quoted ? "a quoted string is not closed on its line" : NULL;
}

zf_entry_status_t zf_entry_next(zf_entry_reader_t *r)
{
	int depth = 0;
	r->entry_len = 0;
	r->error = NULL;
	for (;;) {
		errno = 0;
		ssize_t n = getline(&r->line, &r->line_cap, r->fp);
		if (n < 0) {
			if (ferror(r->fp)) {
				return errno == ENOMEM ? ZF_ENTRY_NOMEM : ZF_ENTRY_IOERROR;
			}
			if (depth > 0) {
				r->error = "'(' without a matching ')' before the end of the file";
				return ZF_ENTRY_ERROR;
			}
			return ZF_ENTRY_EOF;
		}
		r->lineno++;
		size_t len = chomp(r->line, (size_t)n);
		if (memchr(r->line, '\0', len) != NULL) {
			r->entry_line = r->lineno;
			r->error = "the line holds a NUL byte";
			return ZF_ENTRY_ERROR;
		}
		if (depth == 0) {
			r->entry_line = r->lineno;
			r->entry_len = 0;
		}
		if (!reserve(r, len + 1)) {
			return ZF_ENTRY_NOMEM;
		}
		if (depth > 0) {
			r->entry[r->entry_len++] = ' ';   /* the line break inside parentheses */
		}
		/* Most lines have nothing to strip: copy them whole. */
		if (depth == 0 && strpbrk(r->line, "\\\";()") == NULL) {
			memcpy(r->entry, r->line, len);
			r->entry_len = len;
		} else {
			const char *err = append_line(r, r->line, len, &depth);
			if (err != NULL) {
				r->error = err;
				r->entry[r->entry_len] = '\0';
				return ZF_ENTRY_ERROR;
			}
		}
		r->entry[r->entry_len] = '\0';
		if (depth == 0 && !is_blank(r->entry, r->entry_len)) {
			return ZF_ENTRY_OK;
		}
	}
}
