/* Splitting master files into entries (src/zonefile/entry.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_util.h"

#include <stdio.h>
#include <string.h>

#include "zonefile/entry.h"

typedef struct {
	FILE *fp;
	zf_entry_reader_t reader;
} fixture_t;

static void open_text(fixture_t *f, const char *text)
{
	f->fp = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f->fp);
	zf_entry_reader_init(&f->reader, f->fp);
}

static void close_text(fixture_t *f)
{
	zf_entry_reader_free(&f->reader);
	fclose(f->fp);
}

static void expect_entry(fixture_t *f, const char *entry, unsigned line)
{
	assert_int_equal(zf_entry_next(&f->reader), ZF_ENTRY_OK);
	assert_string_equal(f->reader.entry, entry);
	assert_int_equal(f->reader.entry_line, line);
}

static void expect_error(fixture_t *f, const char *part, unsigned line)
{
	assert_int_equal(zf_entry_next(&f->reader), ZF_ENTRY_ERROR);
	assert_non_null(strstr(f->reader.error, part));
	assert_int_equal(f->reader.entry_line, line);
}

static void test_entry_lines_are_entries_with_their_line_numbers(void **state)
{
	(void)state;
	fixture_t f;
	open_text(&f, "$ORIGIN a.test.\n\n   \n; only a comment\nwww 300 A 192.0.2.1\n\tAAAA ::1");
	expect_entry(&f, "$ORIGIN a.test.", 1);
	expect_entry(&f, "www 300 A 192.0.2.1", 5);
	expect_entry(&f, "\tAAAA ::1", 6);   /* leading blank kept: same owner as before */
	assert_int_equal(zf_entry_next(&f.reader), ZF_ENTRY_EOF);
	close_text(&f);
}

static void test_entry_comment_is_dropped(void **state)
{
	(void)state;
	fixture_t f;
	open_text(&f, "www A 192.0.2.1 ; the web server\r\n");
	expect_entry(&f, "www A 192.0.2.1 ", 1);
	close_text(&f);
}

static void test_entry_parentheses_join_lines(void **state)
{
	(void)state;
	fixture_t f;
	open_text(&f, "@ SOA ns1 host (   ; comment inside\n"
	              "      1 ; serial\n"
	              "      7200 3600 1209600 300 )\n"
	              "next A 192.0.2.2\n");
	expect_entry(&f, "@ SOA ns1 host            1        7200 3600 1209600 300  ", 1);
	expect_entry(&f, "next A 192.0.2.2", 4);
	close_text(&f);
}

static void test_entry_quotes_and_escapes_are_data(void **state)
{
	(void)state;
	fixture_t f;
	open_text(&f, "t TXT \"a;b (c)\" \\; \"say \\\"hi\\\"\" ; gone\n");
	expect_entry(&f, "t TXT \"a;b (c)\" \\; \"say \\\"hi\\\"\" ", 1);
	close_text(&f);
}

static void test_entry_unbalanced_close_is_an_error_and_reading_goes_on(void **state)
{
	(void)state;
	fixture_t f;
	open_text(&f, "a A 192.0.2.1 )\nb A 192.0.2.2\n");
	expect_error(&f, "')' without", 1);
	expect_entry(&f, "b A 192.0.2.2", 2);
	close_text(&f);
}

static void test_entry_unclosed_parenthesis_at_eof_is_an_error(void **state)
{
	(void)state;
	fixture_t f;
	open_text(&f, "ok A 192.0.2.1\n@ SOA ns1 host ( 1 2\n 3 4\n");
	expect_entry(&f, "ok A 192.0.2.1", 1);
	expect_error(&f, "'(' without", 2);
	close_text(&f);
}

static void test_entry_unclosed_quote_is_an_error(void **state)
{
	(void)state;
	fixture_t f;
	open_text(&f, "t TXT \"no end\nu A 192.0.2.3\n");
	expect_error(&f, "quoted string", 1);
	expect_entry(&f, "u A 192.0.2.3", 2);
	close_text(&f);
}

static void test_entry_nul_byte_is_an_error(void **state)
{
	(void)state;
	static const char text[] = "a A 192.0.2.1\nb A\0 192.0.2.2\nc A 192.0.2.3\n";
	fixture_t f;
	f.fp = fmemopen((void *)text, sizeof(text) - 1, "r");
	assert_non_null(f.fp);
	zf_entry_reader_init(&f.reader, f.fp);
	expect_entry(&f, "a A 192.0.2.1", 1);
	expect_error(&f, "NUL", 2);
	expect_entry(&f, "c A 192.0.2.3", 3);
	close_text(&f);
}

static void test_entry_long_lines_grow_the_buffer(void **state)
{
	(void)state;
	char text[20000];
	memcpy(text, "t TXT ( ", 8);
	size_t len = 8;
	for (int i = 0; i < 400; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len, "\"%040d\"\n", i);
	}
	len += (size_t)snprintf(text + len, sizeof(text) - len, ")\n");
	fixture_t f;
	open_text(&f, text);
	assert_int_equal(zf_entry_next(&f.reader), ZF_ENTRY_OK);
	assert_int_equal(f.reader.entry_line, 1);
	assert_true(strlen(f.reader.entry) > 400 * 42);
	assert_int_equal(zf_entry_next(&f.reader), ZF_ENTRY_EOF);
	close_text(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_lines_are_entries_with_their_line_numbers),
		cmocka_unit_test(test_entry_comment_is_dropped),
		cmocka_unit_test(test_entry_parentheses_join_lines),
		cmocka_unit_test(test_entry_quotes_and_escapes_are_data),
		cmocka_unit_test(test_entry_unbalanced_close_is_an_error_and_reading_goes_on),
		cmocka_unit_test(test_entry_unclosed_parenthesis_at_eof_is_an_error),
		cmocka_unit_test(test_entry_unclosed_quote_is_an_error),
		cmocka_unit_test(test_entry_nul_byte_is_an_error),
		cmocka_unit_test(test_entry_long_lines_grow_the_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
