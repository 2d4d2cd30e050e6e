/* distill-markdown-math.h — LaTeX as DeepSeek-R1 writes it, turned into
 * readable Pango markup.
 *
 * Not a TeX engine: a readable approximation. Common commands become Unicode
 * (\frac{a}{b} → a/b, \times → ×, \le → ≤, \sqrt{x} → √x, Greek letters,
 * ^2 → ², _1 → ₁ where Unicode has the super/subscript, <sup>/<sub> where it
 * has not), \text{…} stays as written, \left( \right) become ( ), spacing
 * commands become spaces, letters of math mode are italic, and an unknown
 * command is shown as its name without the backslash. The result is always
 * valid Pango markup: every character of the input is escaped. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  DISTILL_MATH_NONE = 0,
  /* \boxed{x} as a highlighted inline span (inside running text); without
   * it, the content of the box is shown plain (the caller draws the box). */
  DISTILL_MATH_HIGHLIGHT_BOXED = 1 << 0,
  /* Display math: \\ keeps its line break (inline math turns it into a space). */
  DISTILL_MATH_DISPLAY = 1 << 1,
} DistillMathFlags;

/* LaTeX source (without its $ or \[ delimiters; len -1 for NUL-terminated)
 * → newly allocated Pango markup. has_boxed (may be NULL) is set when the
 * formula contains \boxed{} or \fbox{}. Never fails; invalid UTF-8 is
 * replaced. */
char *distill_math_to_markup(const char *tex, gssize len, DistillMathFlags flags, gboolean *has_boxed);

/* The same conversion as plain text (the markup's text, tags dropped):
 * what a reader sees. */
char *distill_math_to_text(const char *tex, gssize len);

/* Whether the source contains a \boxed{…} or \fbox{…} command. */
gboolean distill_math_has_boxed(const char *tex, gssize len);

G_END_DECLS
