/* Text from the guest (error messages, the kernel release, process command
 * lines, console output) made safe to print on the host: it never reaches a
 * terminal or a log with control characters in it. */
#ifndef HUSK_COMMON_ESCAPE_H
#define HUSK_COMMON_ESCAPE_H

#include <stddef.h>

/* also escape '"' and '\\' (as \" and \\) and name \n, \t, \r: the quoting
 * of a logrus text field (Go's %q) */
#define HUSK_ESC_QUOTE 1u

/* Copies n bytes of s into out (cap bytes, always NUL-terminated when cap >
 * 0), writing as \xNN each byte of: a control character (below 0x20, 0x7f),
 * invalid UTF-8, and the code points that hide or reorder text (C1 controls,
 * zero-width and bidi marks, line and paragraph separators, BOM). Printable
 * ASCII and other valid UTF-8 pass unchanged. Without HUSK_ESC_QUOTE a
 * backslash passes too, so escaping twice changes nothing. Output is cut
 * at a whole character or escape. Returns the length written. */
size_t husk_escape(char *out, size_t cap, const char *s, size_t n, unsigned flags);
/* the same for a NUL-terminated string */
size_t husk_escape_str(char *out, size_t cap, const char *s, unsigned flags);

#endif
