/* distill-markdown-math.c — LaTeX → readable Pango markup (see the header).
 *
 * A small recursive reader over the TeX source: each call converts one range
 * (a group's content, a command's argument) into the output string. Every
 * piece of input text goes through escape_text(), and every tag we open is
 * closed by the same call, so the markup stays valid whatever the model wrote
 * (unbalanced braces, a trailing backslash, a lone ^). */
#include "config.h"

#include <string.h>

#include <pango/pango.h>

#include "distill-markdown-math.h"

/* Deeper nesting than this is shown as escaped source: bounds the recursion
 * on adversarial input like a thousand '{'. */
#define MAX_DEPTH 48

typedef enum {
  MODE_MATH = 0,
  MODE_PLAIN = 1 << 0,   /* no tags at all (script arguments, fraction checks) */
  MODE_UPRIGHT = 1 << 1, /* math without italic letters (\mathrm, \operatorname) */
  MODE_TEXT = 1 << 2,    /* \text{…}: spaces kept, no ^ _ processing */
} Mode;

typedef struct {
  DistillMathFlags flags;
  gboolean boxed;
} Conv;

static void convert(Conv *c, const char *s, gsize len, GString *out, Mode mode, int depth);

/* ---- symbols ---------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *text; /* markup-safe */
} Symbol;

static const Symbol symbols[] = {
  /* Greek */
  {"alpha", "α"}, {"beta", "β"}, {"gamma", "γ"}, {"delta", "δ"}, {"epsilon", "ϵ"},
  {"varepsilon", "ε"}, {"zeta", "ζ"}, {"eta", "η"}, {"theta", "θ"}, {"vartheta", "ϑ"},
  {"iota", "ι"}, {"kappa", "κ"}, {"lambda", "λ"}, {"mu", "μ"}, {"nu", "ν"}, {"xi", "ξ"},
  {"omicron", "ο"}, {"pi", "π"}, {"varpi", "ϖ"}, {"rho", "ρ"}, {"varrho", "ϱ"},
  {"sigma", "σ"}, {"varsigma", "ς"}, {"tau", "τ"}, {"upsilon", "υ"}, {"phi", "ϕ"},
  {"varphi", "φ"}, {"chi", "χ"}, {"psi", "ψ"}, {"omega", "ω"},
  {"Gamma", "Γ"}, {"Delta", "Δ"}, {"Theta", "Θ"}, {"Lambda", "Λ"}, {"Xi", "Ξ"},
  {"Pi", "Π"}, {"Sigma", "Σ"}, {"Upsilon", "Υ"}, {"Phi", "Φ"}, {"Psi", "Ψ"}, {"Omega", "Ω"},
  /* operators and relations */
  {"times", "×"}, {"cdot", "·"}, {"div", "÷"}, {"pm", "±"}, {"mp", "∓"}, {"ast", "∗"},
  {"star", "⋆"}, {"circ", "∘"}, {"bullet", "∙"}, {"oplus", "⊕"}, {"otimes", "⊗"},
  {"le", "≤"}, {"leq", "≤"}, {"leqslant", "≤"}, {"ge", "≥"}, {"geq", "≥"}, {"geqslant", "≥"},
  {"ne", "≠"}, {"neq", "≠"}, {"approx", "≈"}, {"equiv", "≡"}, {"sim", "∼"}, {"simeq", "≃"},
  {"cong", "≅"}, {"propto", "∝"}, {"ll", "≪"}, {"gg", "≫"}, {"lt", "&lt;"}, {"gt", "&gt;"},
  {"coloneqq", "≔"}, {"doteq", "≐"},
  {"infty", "∞"}, {"partial", "∂"}, {"nabla", "∇"}, {"sum", "∑"}, {"prod", "∏"},
  {"coprod", "∐"}, {"int", "∫"}, {"iint", "∬"}, {"iiint", "∭"}, {"oint", "∮"},
  {"bigcup", "⋃"}, {"bigcap", "⋂"}, {"bigoplus", "⨁"},
  /* arrows */
  {"to", "→"}, {"rightarrow", "→"}, {"leftarrow", "←"}, {"gets", "←"},
  {"leftrightarrow", "↔"}, {"Rightarrow", "⇒"}, {"Leftarrow", "⇐"}, {"Leftrightarrow", "⇔"},
  {"implies", "⟹"}, {"impliedby", "⟸"}, {"iff", "⟺"}, {"mapsto", "↦"},
  {"longrightarrow", "⟶"}, {"Longrightarrow", "⟹"}, {"uparrow", "↑"}, {"downarrow", "↓"},
  {"rightleftharpoons", "⇌"},
  /* sets and logic */
  {"in", "∈"}, {"notin", "∉"}, {"ni", "∋"}, {"subset", "⊂"}, {"subseteq", "⊆"},
  {"supset", "⊃"}, {"supseteq", "⊇"}, {"cup", "∪"}, {"cap", "∩"}, {"setminus", "∖"},
  {"emptyset", "∅"}, {"varnothing", "∅"}, {"forall", "∀"}, {"exists", "∃"}, {"nexists", "∄"},
  {"neg", "¬"}, {"lnot", "¬"}, {"land", "∧"}, {"wedge", "∧"}, {"lor", "∨"}, {"vee", "∨"},
  {"therefore", "∴"}, {"because", "∵"}, {"top", "⊤"}, {"bot", "⊥"},
  /* geometry, misc */
  {"angle", "∠"}, {"perp", "⊥"}, {"parallel", "∥"}, {"triangle", "△"}, {"square", "□"},
  {"degree", "°"}, {"prime", "′"}, {"ell", "ℓ"}, {"hbar", "ℏ"}, {"Re", "ℜ"}, {"Im", "ℑ"},
  {"aleph", "ℵ"}, {"dagger", "†"}, {"checkmark", "✓"},
  {"ldots", "…"}, {"dots", "…"}, {"dotsc", "…"}, {"dotsb", "⋯"}, {"cdots", "⋯"},
  {"vdots", "⋮"}, {"ddots", "⋱"},
  /* delimiters */
  {"langle", "⟨"}, {"rangle", "⟩"}, {"lfloor", "⌊"}, {"rfloor", "⌋"}, {"lceil", "⌈"},
  {"rceil", "⌉"}, {"lvert", "|"}, {"rvert", "|"}, {"vert", "|"}, {"mid", "|"},
  {"lVert", "‖"}, {"rVert", "‖"}, {"Vert", "‖"}, {"lbrace", "{"}, {"rbrace", "}"},
  {"backslash", "\\"},
  /* spacing */
  {"quad", "\u2003"}, {"qquad", "\u2003\u2003"}, {"enspace", "\u2002"},
  {"thinspace", "\u2009"}, {"medspace", "\u205f"}, {"thickspace", "\u2005"},
  {"bmod", " mod "}, {"mod", " mod "},
};

/* Commands that only change size or style and take no argument: dropped. */
static const char *const ignored[] = {
  "left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
  "biggl", "biggr", "Biggl", "Biggr", "displaystyle", "textstyle", "scriptstyle",
  "scriptscriptstyle", "limits", "nolimits", "nonumber", "notag", "negthinspace",
  "centering", "small", "large", "Large", "normalsize", "rm", "it", "bf",
};

static const char *lookup_symbol(const char *name, gsize n)
{
  for (gsize i = 0; i < G_N_ELEMENTS(symbols); i++)
    if (strlen(symbols[i].name) == n && memcmp(symbols[i].name, name, n) == 0)
      return symbols[i].text;
  return NULL;
}

static gboolean is_ignored(const char *name, gsize n)
{
  for (gsize i = 0; i < G_N_ELEMENTS(ignored); i++)
    if (strlen(ignored[i]) == n && memcmp(ignored[i], name, n) == 0) return TRUE;
  return FALSE;
}

static gboolean name_is(const char *name, gsize n, const char *what)
{
  return strlen(what) == n && memcmp(name, what, n) == 0;
}

static gboolean name_in(const char *name, gsize n, const char *const *list)
{
  for (; *list; list++)
    if (name_is(name, n, *list)) return TRUE;
  return FALSE;
}

/* ---- super- and subscripts ------------------------------------------- */

typedef struct {
  gunichar from;
  const char *to;
} ScriptMap;

static const ScriptMap superscripts[] = {
  {'0', "⁰"}, {'1', "¹"}, {'2', "²"}, {'3', "³"}, {'4', "⁴"}, {'5', "⁵"}, {'6', "⁶"},
  {'7', "⁷"}, {'8', "⁸"}, {'9', "⁹"}, {'+', "⁺"}, {'-', "⁻"}, {0x2212, "⁻"}, {'=', "⁼"},
  {'(', "⁽"}, {')', "⁾"}, {'n', "ⁿ"}, {'i', "ⁱ"}, {'x', "ˣ"}, {'y', "ʸ"}, {'k', "ᵏ"},
  {'T', "ᵀ"}, {0x2032, "′"}, {' ', ""},
};

static const ScriptMap subscripts[] = {
  {'0', "₀"}, {'1', "₁"}, {'2', "₂"}, {'3', "₃"}, {'4', "₄"}, {'5', "₅"}, {'6', "₆"},
  {'7', "₇"}, {'8', "₈"}, {'9', "₉"}, {'+', "₊"}, {'-', "₋"}, {0x2212, "₋"}, {'=', "₌"},
  {'(', "₍"}, {')', "₎"}, {'a', "ₐ"}, {'e', "ₑ"}, {'o', "ₒ"}, {'x', "ₓ"}, {'i', "ᵢ"},
  {'j', "ⱼ"}, {'k', "ₖ"}, {'n', "ₙ"}, {'m', "ₘ"}, {'t', "ₜ"}, {' ', ""},
};

static const char *map_script_char(const ScriptMap *map, gsize n, gunichar ch)
{
  for (gsize i = 0; i < n; i++)
    if (map[i].from == ch) return map[i].to;
  return NULL;
}

/* Every character of plain has a Unicode super/subscript: write them and
 * return TRUE; else write nothing. plain is escaped text without tags. */
static gboolean map_script(const char *plain, gboolean super, GString *out)
{
  const ScriptMap *map = super ? superscripts : subscripts;
  gsize n = super ? G_N_ELEMENTS(superscripts) : G_N_ELEMENTS(subscripts);
  if (!*plain) return FALSE;
  for (const char *p = plain; *p; p = g_utf8_next_char(p))
    if (!map_script_char(map, n, g_utf8_get_char(p))) return FALSE;
  for (const char *p = plain; *p; p = g_utf8_next_char(p))
    g_string_append(out, map_script_char(map, n, g_utf8_get_char(p)));
  return TRUE;
}

/* ---- small helpers ----------------------------------------------------- */

static void escape_text(GString *out, const char *s, gsize n)
{
  for (gsize i = 0; i < n; i++) {
    switch (s[i]) {
    case '<': g_string_append(out, "&lt;"); break;
    case '>': g_string_append(out, "&gt;"); break;
    case '&': g_string_append(out, "&amp;"); break;
    default: g_string_append_c(out, s[i]);
    }
  }
}

static gboolean is_letter(char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static gboolean is_space(char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* One space at most between two pieces: TeX ignores spaces in math, but the
 * ones the model wrote help reading. */
static void append_space(GString *out)
{
  if (out->len == 0 || out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\n') return;
  /* after \quad, \, … (already a space) */
  const char *last = g_utf8_find_prev_char(out->str, out->str + out->len);
  if (last && g_unichar_isspace(g_utf8_get_char(last))) return;
  g_string_append_c(out, ' ');
}

/* The position after the '}' matching the '{' at s[i] (or len when it is
 * never closed); *inner_len gets the content's length. */
static gsize match_brace(const char *s, gsize len, gsize i, gsize *inner_len)
{
  int level = 0;
  for (gsize j = i; j < len; j++) {
    if (s[j] == '\\' && j + 1 < len) {
      j++;
      continue;
    }
    if (s[j] == '{') level++;
    else if (s[j] == '}' && --level == 0) {
      *inner_len = j - i - 1;
      return j + 1;
    }
  }
  *inner_len = len - i - 1;
  return len;
}

/* The next argument at s[*i]: a {group}, a \command, or one character.
 * Spaces before it are skipped. Empty when the source ends. */
static void next_arg(const char *s, gsize len, gsize *i, const char **arg, gsize *arg_len)
{
  gsize j = *i;
  while (j < len && is_space(s[j])) j++;
  if (j >= len) {
    *arg = s + len;
    *arg_len = 0;
    *i = len;
    return;
  }
  if (s[j] == '{') {
    gsize inner;
    gsize end = match_brace(s, len, j, &inner);
    *arg = s + j + 1;
    *arg_len = inner;
    *i = end;
  } else if (s[j] == '\\' && j + 1 < len) {
    gsize k = j + 1;
    if (is_letter(s[k])) {
      while (k < len && is_letter(s[k])) k++;
    } else {
      k = (gsize)(g_utf8_next_char(s + k) - s);
    }
    *arg = s + j;
    *arg_len = k - j;
    *i = k;
  } else {
    gsize k = (gsize)(g_utf8_next_char(s + j) - s);
    if (k > len) k = len;
    *arg = s + j;
    *arg_len = k - j;
    *i = k;
  }
}

/* An optional [argument] at s[*i]. */
static gboolean optional_arg(const char *s, gsize len, gsize *i, const char **arg, gsize *arg_len)
{
  gsize j = *i;
  while (j < len && is_space(s[j])) j++;
  if (j >= len || s[j] != '[') return FALSE;
  const char *close = memchr(s + j, ']', len - j);
  if (!close) return FALSE;
  *arg = s + j + 1;
  *arg_len = (gsize)(close - (s + j + 1));
  *i = (gsize)(close - s) + 1;
  return TRUE;
}

static char *convert_to_string(Conv *c, const char *s, gsize len, Mode mode, int depth)
{
  GString *out = g_string_new(NULL);
  convert(c, s, len, out, mode, depth);
  return g_string_free(out, FALSE);
}

/* A piece that reads unambiguously next to '/' or '√': one "word" of
 * letters and digits (incl. Greek, super/subscripts), or one character. */
static gboolean is_simple(const char *plain)
{
  if (!*plain) return TRUE;
  if (!*g_utf8_next_char(plain)) return TRUE;
  for (const char *p = plain; *p; p = g_utf8_next_char(p)) {
    gunichar ch = g_utf8_get_char(p);
    if (!g_unichar_isalnum(ch) && ch != '.' && ch != ',' &&
        g_unichar_type(ch) != G_UNICODE_OTHER_NUMBER)
      return FALSE;
  }
  return TRUE;
}

/* The text of markup we made: tags dropped (text never holds a '<': it is
 * escaped), entities kept. Converting once and stripping, rather than
 * converting twice, keeps nested \frac linear instead of exponential. */
static char *strip_tags(const char *markup)
{
  GString *out = g_string_new(NULL);
  for (const char *p = markup; *p; p++) {
    if (*p == '<') {
      const char *close = strchr(p, '>');
      if (!close) break;
      p = close;
    } else {
      g_string_append_c(out, *p);
    }
  }
  return g_string_free(out, FALSE);
}

/* Writes arg (converted) in parentheses unless it is simple. */
static void append_operand(Conv *c, const char *arg, gsize n, GString *out, Mode mode, int depth)
{
  char *conv = convert_to_string(c, arg, n, mode, depth);
  char *plain = strip_tags(conv);
  g_strstrip(plain);
  g_strstrip(conv);
  if (is_simple(plain)) g_string_append(out, conv);
  else g_string_append_printf(out, "(%s)", conv);
  g_free(plain);
  g_free(conv);
}

static void append_script(Conv *c, gboolean super, const char *arg, gsize n, GString *out, Mode mode,
                          int depth)
{
  char *conv = convert_to_string(c, arg, n, mode & ~MODE_TEXT, depth);
  char *plain = strip_tags(conv);
  g_strstrip(plain);
  g_strstrip(conv);
  if (super && (strcmp(plain, "∘") == 0 || strcmp(plain, "°") == 0)) {
    g_string_append(out, "°");
  } else if (super && (strcmp(plain, "′") == 0 || strcmp(plain, "′′") == 0)) {
    g_string_append(out, plain);
  } else if (!map_script(plain, super, out) && *plain) {
    if (mode & MODE_PLAIN) {
      gboolean one = !*g_utf8_next_char(plain);
      g_string_append_printf(out, one ? "%s%s" : "%s(%s)", super ? "^" : "_", plain);
    } else {
      g_string_append_printf(out, super ? "<sup>%s</sup>" : "<sub>%s</sub>", conv);
    }
  }
  g_free(plain);
  g_free(conv);
}

/* A combining mark after each character of the converted argument
 * (\vec{v} → v⃗, \overline{AB} → A̅B̅). */
static void append_accented(Conv *c, const char *arg, gsize n, const char *mark, GString *out,
                            Mode mode, int depth)
{
  char *plain = convert_to_string(c, arg, n, mode | MODE_PLAIN, depth);
  g_strstrip(plain);
  if (strchr(plain, '&')) { /* an escaped entity: marks would split it */
    g_string_append(out, plain);
  } else {
    for (const char *p = plain; *p; p = g_utf8_next_char(p)) {
      g_string_append_len(out, p, g_utf8_next_char(p) - p);
      if (*p != ' ') g_string_append(out, mark);
    }
  }
  g_free(plain);
}

static void append_double_struck(Conv *c, const char *arg, gsize n, GString *out, Mode mode, int depth)
{
  static const char *const letters = "NZQRCPH";
  static const char *const struck[] = {"ℕ", "ℤ", "ℚ", "ℝ", "ℂ", "ℙ", "ℍ"};
  char *plain = convert_to_string(c, arg, n, mode | MODE_PLAIN, depth);
  for (const char *p = plain; *p; p++) {
    const char *hit = strchr(letters, *p);
    if (hit && *p) g_string_append(out, struck[hit - letters]);
    else g_string_append_c(out, *p);
  }
  g_free(plain);
}

/* Text mode: written as is, with TeX's escapes for special characters. */
static void append_text_mode(const char *s, gsize len, GString *out)
{
  for (gsize i = 0; i < len; i++) {
    if (s[i] == '\\' && i + 1 < len && strchr("%$&_#{} ,;:", s[i + 1])) {
      i++;
      escape_text(out, s + i, 1);
    } else if (s[i] == '~') {
      g_string_append(out, "\u00a0");
    } else if (s[i] == '{' || s[i] == '}') {
      /* grouping braces in text: not shown */
    } else if (s[i] == '$') {
      /* $…$ inside \text{}: math again, rare; the dollars are just dropped */
    } else if (s[i] == ' ' || s[i] == '\n') {
      append_space(out); /* "75 \text{ km/h}": one space, not two */
    } else {
      escape_text(out, s + i, 1);
    }
  }
}

/* ---- commands ------------------------------------------------------------ */

static const char *const text_commands[] = {
  "text", "textrm", "textup", "textnormal", "textsf", "texttt", "mbox", "hbox", "textmd", NULL,
};
static const char *const upright_commands[] = {
  "mathrm", "operatorname", "mathsf", "mathtt", "mathup", "operatorname*", NULL,
};
static const char *const bold_commands[] = {
  "textbf", "mathbf", "boldsymbol", "bm", "pmb", "mathbfit", NULL,
};
static const char *const italic_commands[] = {"textit", "mathit", "emph", "textsl", NULL};
static const char *const content_commands[] = {
  "mathcal", "mathscr", "mathfrak", "substack", "cancel", "bcancel", "xcancel", "smash", NULL,
};
static const char *const frac_commands[] = {"frac", "dfrac", "tfrac", "cfrac", NULL};
static const char *const binom_commands[] = {"binom", "dbinom", "tbinom", NULL};
static const char *const dropped_with_arg[] = {
  "label", "phantom", "vphantom", "hphantom", "vspace", "vspace*", "ref", "eqref", NULL,
};

typedef struct {
  const char *name;
  const char *mark;
} Accent;

static const Accent accents[] = {
  {"overline", "\u0305"}, {"bar", "\u0304"}, {"hat", "\u0302"}, {"widehat", "\u0302"},
  {"tilde", "\u0303"}, {"widetilde", "\u0303"}, {"vec", "\u20d7"}, {"overrightarrow", "\u20d7"},
  {"dot", "\u0307"}, {"ddot", "\u0308"},
};

/* Handles the command name (n bytes, without the backslash) whose arguments
 * start at s[*i]; advances *i past what it consumed. */
static void command(Conv *c, const char *name, gsize n, const char *s, gsize len, gsize *i,
                    GString *out, Mode mode, int depth)
{
  const char *a, *b;
  gsize an, bn;
  gboolean plain = (mode & MODE_PLAIN) != 0;

  if (name_in(name, n, frac_commands)) {
    next_arg(s, len, i, &a, &an);
    next_arg(s, len, i, &b, &bn);
    append_operand(c, a, an, out, mode, depth);
    g_string_append_c(out, '/');
    append_operand(c, b, bn, out, mode, depth);
  } else if (name_is(name, n, "sqrt")) {
    const char *idx;
    gsize idx_n;
    gboolean has_index = optional_arg(s, len, i, &idx, &idx_n);
    next_arg(s, len, i, &a, &an);
    if (has_index) {
      char *root = convert_to_string(c, idx, idx_n, mode | MODE_PLAIN, depth);
      g_strstrip(root);
      if (strcmp(root, "3") == 0) g_string_append(out, "∛");
      else if (strcmp(root, "4") == 0) g_string_append(out, "∜");
      else {
        if (!map_script(root, TRUE, out)) g_string_append(out, root);
        g_string_append(out, "√");
      }
      g_free(root);
    } else {
      g_string_append(out, "√");
    }
    append_operand(c, a, an, out, mode, depth);
  } else if (name_in(name, n, binom_commands)) {
    next_arg(s, len, i, &a, &an);
    next_arg(s, len, i, &b, &bn);
    g_string_append(out, "C(");
    convert(c, a, an, out, mode, depth);
    g_string_append(out, ", ");
    convert(c, b, bn, out, mode, depth);
    g_string_append_c(out, ')');
  } else if (name_is(name, n, "boxed") || name_is(name, n, "fbox")) {
    next_arg(s, len, i, &a, &an);
    c->boxed = TRUE;
    gboolean highlight = (c->flags & DISTILL_MATH_HIGHLIGHT_BOXED) && !plain;
    /* A fixed accent colour with alpha reads on light and dark themes alike. */
    if (highlight) g_string_append(out, "<span bgcolor=\"#3584e4\" bgalpha=\"22%\" weight=\"bold\">\u2009");
    convert(c, a, an, out, mode, depth);
    if (highlight) g_string_append(out, "\u2009</span>");
  } else if (name_in(name, n, text_commands)) {
    next_arg(s, len, i, &a, &an);
    append_text_mode(a, an, out);
  } else if (name_in(name, n, upright_commands)) {
    next_arg(s, len, i, &a, &an);
    convert(c, a, an, out, mode | MODE_UPRIGHT, depth);
  } else if (name_in(name, n, bold_commands)) {
    next_arg(s, len, i, &a, &an);
    if (!plain) g_string_append(out, "<b>");
    convert(c, a, an, out, mode | MODE_UPRIGHT, depth);
    if (!plain) g_string_append(out, "</b>");
  } else if (name_in(name, n, italic_commands)) {
    next_arg(s, len, i, &a, &an);
    if (!plain) g_string_append(out, "<i>");
    convert(c, a, an, out, mode | MODE_UPRIGHT, depth);
    if (!plain) g_string_append(out, "</i>");
  } else if (name_is(name, n, "underline")) {
    next_arg(s, len, i, &a, &an);
    if (!plain) g_string_append(out, "<u>");
    convert(c, a, an, out, mode, depth);
    if (!plain) g_string_append(out, "</u>");
  } else if (name_is(name, n, "mathbb") || name_is(name, n, "Bbb")) {
    next_arg(s, len, i, &a, &an);
    append_double_struck(c, a, an, out, mode, depth);
  } else if (name_in(name, n, content_commands)) {
    next_arg(s, len, i, &a, &an);
    convert(c, a, an, out, mode, depth);
  } else if (name_in(name, n, dropped_with_arg)) {
    next_arg(s, len, i, &a, &an);
  } else if (name_is(name, n, "hspace") || name_is(name, n, "hspace*")) {
    next_arg(s, len, i, &a, &an);
    append_space(out);
  } else if (name_is(name, n, "tag")) {
    next_arg(s, len, i, &a, &an);
    g_string_append(out, "\u2003(");
    convert(c, a, an, out, mode, depth);
    g_string_append_c(out, ')');
  } else if (name_is(name, n, "pmod")) {
    next_arg(s, len, i, &a, &an);
    g_string_append(out, " (mod ");
    convert(c, a, an, out, mode, depth);
    g_string_append_c(out, ')');
  } else if (name_is(name, n, "color")) {
    next_arg(s, len, i, &a, &an); /* the colour; what follows is shown normally */
  } else if (name_is(name, n, "textcolor") || name_is(name, n, "colorbox")) {
    next_arg(s, len, i, &a, &an);
    next_arg(s, len, i, &b, &bn);
    convert(c, b, bn, out, mode, depth);
  } else if (name_is(name, n, "overset") || name_is(name, n, "underset") ||
             name_is(name, n, "stackrel")) {
    next_arg(s, len, i, &a, &an); /* the small annotation is dropped */
    next_arg(s, len, i, &b, &bn);
    convert(c, b, bn, out, mode, depth);
  } else if (name_is(name, n, "xrightarrow") || name_is(name, n, "xleftarrow")) {
    optional_arg(s, len, i, &a, &an);
    next_arg(s, len, i, &a, &an);
    g_string_append(out, name[1] == 'r' ? "→" : "←");
  } else if (name_is(name, n, "begin") || name_is(name, n, "end")) {
    next_arg(s, len, i, &a, &an);
    gboolean begin = name[0] == 'b';
    if (an >= 7 && g_str_has_prefix(a, "pmatrix")) g_string_append(out, begin ? "(" : ")");
    else if (an >= 7 && g_str_has_prefix(a, "bmatrix")) g_string_append(out, begin ? "[" : "]");
    else if (an >= 7 && g_str_has_prefix(a, "vmatrix")) g_string_append(out, "|");
    else if (an >= 5 && g_str_has_prefix(a, "cases") && begin) g_string_append(out, "{ ");
    if (begin && an >= 5 && g_str_has_prefix(a, "array")) next_arg(s, len, i, &a, &an); /* {cc} */
  } else if (name_is(name, n, "not")) {
    gsize j = *i;
    while (j < len && is_space(s[j])) j++;
    if (j < len && s[j] == '=') {
      g_string_append(out, "≠");
      *i = j + 1;
    } else {
      next_arg(s, len, i, &a, &an);
      convert(c, a, an, out, mode, depth);
      g_string_append(out, "\u0338");
    }
  } else {
    for (gsize k = 0; k < G_N_ELEMENTS(accents); k++) {
      if (name_is(name, n, accents[k].name)) {
        next_arg(s, len, i, &a, &an);
        append_accented(c, a, an, accents[k].mark, out, mode, depth);
        return;
      }
    }
    const char *sym = lookup_symbol(name, n);
    if (sym) {
      g_string_append(out, sym);
    } else if (is_ignored(name, n)) {
      if (name_is(name, n, "right")) { /* "( x \right)": no space inside the parentheses */
        while (out->len && out->str[out->len - 1] == ' ') g_string_truncate(out, out->len - 1);
      }
      if (name_is(name, n, "left") || name_is(name, n, "right")) {
        gsize j = *i;
        while (j < len && is_space(s[j])) j++;
        if (j < len && s[j] == '.') { /* \left. is an invisible delimiter */
          *i = j + 1;
        } else if (name[0] == 'l' && j < len) {
          gsize k = j;
          if (s[k] == '\\' && k + 1 < len) {
            k++;
            while (k < len && is_letter(s[k])) k++;
            if (k == j + 1) k++;
          } else {
            k = (gsize)(g_utf8_next_char(s + k) - s);
          }
          if (k > len) k = len;
          convert(c, s + j, k - j, out, mode, depth); /* the delimiter, then no space */
          while (k < len && is_space(s[k])) k++;
          *i = k;
        }
      }
    } else {
      /* \sin, \log, \max and every unknown command: its name, upright */
      escape_text(out, name, n);
    }
  }
}

/* One backslash sequence at s[*i] ('\' already seen at s[*i - 1]). */
static void backslash(Conv *c, const char *s, gsize len, gsize *i, GString *out, Mode mode, int depth)
{
  if (*i >= len) {
    g_string_append_c(out, '\\');
    return;
  }
  char ch = s[*i];
  if (is_letter(ch)) {
    gsize start = *i;
    while (*i < len && is_letter(s[*i])) (*i)++;
    /* \operatorname* and friends */
    if (*i < len && s[*i] == '*') (*i)++;
    gsize n = *i - start;
    if (s[start + n - 1] == '*' && !name_is(s + start, n, "operatorname*") &&
        !name_is(s + start, n, "hspace*") && !name_is(s + start, n, "vspace*"))
      n--;
    command(c, s + start, n, s, len, i, out, mode, depth);
    return;
  }
  (*i)++;
  switch (ch) {
  case ',': g_string_append(out, "\u2009"); break;
  case ':': case '>': g_string_append(out, "\u205f"); break;
  case ';': g_string_append(out, "\u2005"); break;
  case '!': break;
  case ' ': g_string_append_c(out, ' '); break;
  case '\\':
    if (c->flags & DISTILL_MATH_DISPLAY) {
      while (out->len && out->str[out->len - 1] == ' ') g_string_truncate(out, out->len - 1);
      g_string_append_c(out, '\n');
    } else {
      g_string_append(out, "; ");
    }
    {
      const char *skip;
      gsize skip_n;
      if (*i < len && s[*i] == '[') optional_arg(s, len, i, &skip, &skip_n); /* \\[2pt] */
    }
    break;
  case '|': g_string_append(out, "‖"); break;
  default: {
    /* \{ \} \% \$ \# \_ \& and anything else: the character itself */
    gsize k = (gsize)(g_utf8_next_char(s + *i - 1) - s);
    if (k > len) k = len;
    escape_text(out, s + *i - 1, k - (*i - 1));
    *i = k;
  }
  }
}

static void convert(Conv *c, const char *s, gsize len, GString *out, Mode mode, int depth)
{
  if (depth > MAX_DEPTH) {
    escape_text(out, s, len);
    return;
  }
  depth++;
  if (mode & MODE_TEXT) {
    append_text_mode(s, len, out);
    return;
  }
  gsize i = 0;
  while (i < len) {
    char ch = s[i];
    if (ch == '\\') {
      i++;
      backslash(c, s, len, &i, out, mode, depth);
    } else if (ch == '{') {
      gsize inner;
      gsize end = match_brace(s, len, i, &inner);
      convert(c, s + i + 1, inner, out, mode, depth);
      i = end;
    } else if (ch == '}') {
      i++; /* an unbalanced brace */
    } else if (ch == '&') {
      /* An alignment mark: "x &= 5" reads "x = 5", but the columns of a
       * matrix or of cases need some room between them. */
      gsize j = i + 1;
      while (j < len && is_space(s[j])) j++;
      if (j < len && !strchr("=<>\\", s[j])) {
        while (out->len && out->str[out->len - 1] == ' ') g_string_truncate(out, out->len - 1);
        g_string_append(out, "\u2003");
      }
      i = j;
    } else if (ch == '^' || ch == '_') {
      const char *arg;
      gsize an;
      i++;
      next_arg(s, len, &i, &arg, &an);
      append_script(c, ch == '^', arg, an, out, mode, depth);
    } else if (is_space(ch)) {
      while (i < len && is_space(s[i])) i++;
      append_space(out);
    } else if (ch == '~') {
      g_string_append(out, "\u00a0");
      i++;
    } else if (ch == '\'') {
      g_string_append(out, "′");
      i++;
    } else if (ch == '-') {
      g_string_append(out, "−");
      i++;
    } else if (ch == '*') {
      g_string_append(out, "∗");
      i++;
    } else if (is_letter(ch) && !(mode & (MODE_PLAIN | MODE_UPRIGHT))) {
      gsize start = i;
      while (i < len && is_letter(s[i])) i++;
      g_string_append(out, "<i>");
      g_string_append_len(out, s + start, i - start);
      g_string_append(out, "</i>");
    } else {
      gsize k = (gsize)(g_utf8_next_char(s + i) - s);
      if (k > len) k = len;
      escape_text(out, s + i, k - i);
      i = k;
    }
  }
}

/* ---- public ------------------------------------------------------------------ */

char *distill_math_to_markup(const char *tex, gssize len, DistillMathFlags flags, gboolean *has_boxed)
{
  Conv c = {.flags = flags};
  if (!tex) tex = "";
  gsize n = len < 0 ? strlen(tex) : (gsize)len;
  char *valid = g_utf8_make_valid(tex, (gssize)n); /* an embedded NUL ends it */
  GString *out = g_string_new(NULL);
  convert(&c, valid, strlen(valid), out, MODE_MATH, 0);
  g_free(valid);
  /* trim the spaces the source had at both ends */
  while (out->len && (out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\n'))
    g_string_truncate(out, out->len - 1);
  gsize lead = 0;
  while (lead < out->len && out->str[lead] == ' ') lead++;
  g_string_erase(out, 0, (gssize)lead);
  if (has_boxed) *has_boxed = c.boxed;
  return g_string_free(out, FALSE);
}

char *distill_math_to_text(const char *tex, gssize len)
{
  char *markup = distill_math_to_markup(tex, len, DISTILL_MATH_DISPLAY, NULL);
  char *text = NULL;
  if (!pango_parse_markup(markup, -1, 0, NULL, &text, NULL, NULL)) text = g_strdup(markup);
  g_free(markup);
  return text;
}

gboolean distill_math_has_boxed(const char *tex, gssize len)
{
  gsize n = len < 0 ? strlen(tex) : (gsize)len;
  for (gsize i = 0; i + 1 < n; i++) {
    if (tex[i] != '\\') continue;
    if ((n - i - 1 >= 5 && memcmp(tex + i + 1, "boxed", 5) == 0) ||
        (n - i - 1 >= 4 && memcmp(tex + i + 1, "fbox", 4) == 0))
      return TRUE;
    i++; /* skip the escaped character (\\boxed is a line break + "boxed") */
  }
  return FALSE;
}
