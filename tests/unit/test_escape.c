/* common/escape.c: guest text made printable for host output. */
#include "common/escape.h"

#include "tests/unit/unit.h"

static const char *esc(const char *s, unsigned flags)
{
	static char out[256];
	husk_escape_str(out, sizeof out, s, flags);
	return out;
}

static enum test_result test_printable_passes(void)
{
	CHECK_STR(esc("sleep 600 --x=/a\\b", 0), "sleep 600 --x=/a\\b");
	CHECK_STR(esc("", 0), "");
	/* valid UTF-8 that shows as itself passes */
	CHECK_STR(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	return TEST_PASS;
}

static enum test_result test_controls_escaped(void)
{
	CHECK_STR(esc("a\x1b[2Jb", 0), "a\\x1b[2Jb");
	CHECK_STR(esc("line\nnext\r\t\x7f", 0), "line\\x0anext\\x0d\\x09\\x7f");
	/* C1 CSI, bidi override, zero-width space, line separator, BOM */
	CHECK_STR(esc("\xc2\x9b"
		      "1m",
		      0),
		  "\\xc2\\x9b1m");
	CHECK_STR(esc("abc\xe2\x80\xae"
		      "gpj.exe",
		      0),
		  "abc\\xe2\\x80\\xaegpj.exe");
	CHECK_STR(esc("\xe2\x80\x8b\xe2\x80\xa8\xef\xbb\xbf", 0), "\\xe2\\x80\\x8b\\xe2\\x80\\xa8\\xef\\xbb\\xbf");
	return TEST_PASS;
}

static enum test_result test_invalid_utf8(void)
{
	CHECK_STR(esc("\xff\xfe", 0), "\\xff\\xfe");
	CHECK_STR(esc("\xc0\xaf", 0), "\\xc0\\xaf");          /* overlong '/' */
	CHECK_STR(esc("\xed\xa0\x80", 0), "\\xed\\xa0\\x80"); /* surrogate */
	CHECK_STR(esc("\xf4\x90\x80\x80", 0), "\\xf4\\x90\\x80\\x80");
	CHECK_STR(esc("\xe2\x82", 0), "\\xe2\\x82"); /* cut at the end */
	CHECK_STR(esc("\xe2(x", 0), "\\xe2(x");      /* a lead byte, then ASCII */
	return TEST_PASS;
}

static enum test_result test_idempotent(void)
{
	const char *once = esc("\x1b]0;title\x07 done", 0);
	char copy[256];
	snprintf(copy, sizeof copy, "%s", once);
	CHECK_STR(esc(copy, 0), copy);
	return TEST_PASS;
}

static enum test_result test_quote(void)
{
	CHECK_STR(esc("say \"hi\"\n\\ \x01", HUSK_ESC_QUOTE), "say \\\"hi\\\"\\n\\\\ \\x01");
	return TEST_PASS;
}

static enum test_result test_bounded(void)
{
	char out[8];
	/* cut before an escape that does not fit whole */
	CHECK_EQ_INT(husk_escape_str(out, sizeof out, "abcd\x1b", 0), 4);
	CHECK_STR(out, "abcd");
	CHECK_EQ_INT(husk_escape_str(out, sizeof out, "abcdefghij", 0), 7);
	CHECK_STR(out, "abcdefg");
	/* a multi-byte character is never split */
	CHECK_EQ_INT(husk_escape_str(out, sizeof out, "abcde\xe2\x82\xac", 0), 5);
	CHECK_STR(out, "abcde");
	/* embedded NUL with an explicit length */
	char big[32];
	CHECK_EQ_INT(husk_escape(big, sizeof big, "a\0b", 3, 0), 6);
	CHECK_STR(big, "a\\x00b");
	CHECK_EQ_INT(husk_escape(big, 0, "abc", 3, 0), 0);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "escape: printable ASCII and UTF-8 pass", test_printable_passes },
		{ "escape: control characters and hiding code points as \\xNN", test_controls_escaped },
		{ "escape: invalid UTF-8 byte by byte", test_invalid_utf8 },
		{ "escape: escaping twice changes nothing", test_idempotent },
		{ "escape: logrus quoting", test_quote },
		{ "escape: bounded output, cut at a whole character", test_bounded },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
