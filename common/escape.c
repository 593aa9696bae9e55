#include "common/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 if it is not one (overlong, surrogate, above U+10FFFF, cut). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* code points a terminal or a reader does not show as themselves */
static bool hides_text(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb);
}

/* appends piece (len bytes) if it fits whole, keeping room for the NUL */
static bool put(char *out, size_t cap, size_t *o, const char *piece, size_t len)
{
	if (*o + len + 1 > cap)
		return false;
	memcpy(out + *o, piece, len);
	*o += len;
	return true;
}

static bool put_hex(char *out, size_t cap, size_t *o, const unsigned char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		char e[4] = { '\\', 'x', hex[s[i] >> 4], hex[s[i] & 0xf] };
		if (!put(out, cap, o, e, 4))
			return false;
	}
	return true;
}

size_t husk_escape(char *out, size_t cap, const char *str, size_t n, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t o = 0;
	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		bool ok;
		if ((flags & HUSK_ESC_QUOTE) && (c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r')) {
			char e[2] = { '\\', c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char)c };
			ok = put(out, cap, &o, e, 2);
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			ok = put(out, cap, &o, (const char *)&s[i], 1);
			i++;
		} else {
			uint32_t cp;
			size_t len = c >= 0x80 ? utf8_decode(s + i, n - i, &cp) : 0;
			if (len && !hides_text(cp))
				ok = put(out, cap, &o, (const char *)&s[i], len);
			else
				ok = put_hex(out, cap, &o, &s[i], len ? len : 1);
			i += len ? len : 1;
		}
		if (!ok)
			break;
	}
	out[o] = '\0';
	return o;
}

size_t husk_escape_str(char *out, size_t cap, const char *s, unsigned flags)
{
	return husk_escape(out, cap, s, strlen(s), flags);
}
