/* bench-standard.c — the pieces of the published two-prompt benchmark that
 * belong to the engine: the two prompts, the check of prompt 1's answer, and
 * the peak resident memory of the process (the device memory of a session is
 * counted by the Vulkan backend, see session.c).
 *
 * The answer check. Prompt 1 asks for the average speed of a train that goes
 * 120 km at 60 km/h and 180 km at 90 km/h: 300 km in 2 h + 2 h, so 75 km/h.
 * The tempting wrong answer is 72 km/h (the harmonic mean of the two speeds).
 * A reply is judged on its final answer only:
 *   1. the text after the last "</think>" when there is one (R1 models reason
 *      first), otherwise the whole text;
 *   2. in it, the value of the last \boxed{…} when there is one (LaTeX answers);
 *   3. else the last number stated as a speed ("75 km/h", "75 km/hr",
 *      "75 kilometres per hour", "75\,\text{km/h}", "75 公里/小时",
 *      "每小时75公里" …), leaving out the given speeds 60 and 90, which replies
 *      restate;
 *   4. else the last number in bold ("**75**");
 *   5. else the last bare number of the text (no unit word after it).
 * The answer is right when that number is exactly 75 (75.0 too): not 72, not
 * 175, 75.5 or 7.5. So a reply that weighs 72 against 75 counts by what it
 * settles on last.
 */
#include "still.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the prompts ------------------------------------------------------------ */

static const char *const prompts[STILL_BENCH_N_PROMPTS] = {
  "Solve step by step: A train travels 120 km at 60 km/h, then 180 km at 90 km/h. What is the average speed for "
  "the entire journey?",
  "Write a Python function that implements binary search on a sorted list, including edge case handling and type "
  "hints.",
};

static const char *const prompt_names[STILL_BENCH_N_PROMPTS] = {"average-speed", "binary-search"};

const char *still_bench_prompt(int i)
{
  return i >= 0 && i < STILL_BENCH_N_PROMPTS ? prompts[i] : NULL;
}

const char *still_bench_prompt_name(int i)
{
  return i >= 0 && i < STILL_BENCH_N_PROMPTS ? prompt_names[i] : NULL;
}

/* ---- numbers ------------------------------------------------------------------ */

/* A number found in the text: [start, end) bytes, and whether it is 75 exactly
 * (integer part "75", fraction absent or all zeros). */
typedef struct {
  const char *start, *end;
  bool is_75;
  int int_value; /* integer part (capped), for leaving out the given speeds */
  bool has_fraction;
} number;

/* The number starting at p (an ASCII digit not preceded by a digit or a
 * decimal point that follows a digit). */
static number scan_number(const char *p)
{
  number n = {.start = p};
  const char *q = p;
  long v = 0;
  while (isdigit((unsigned char)*q)) {
    if (v < 1000000) v = v * 10 + (*q - '0');
    q++;
  }
  const char *int_end = q;
  bool frac_zero = true;
  if (*q == '.' && isdigit((unsigned char)q[1])) {
    n.has_fraction = true;
    q++;
    while (isdigit((unsigned char)*q)) {
      if (*q != '0') frac_zero = false;
      q++;
    }
  }
  n.end = q;
  n.int_value = (int)v;
  n.is_75 = int_end - p == 2 && p[0] == '7' && p[1] == '5' && frac_zero;
  return n;
}

/* Is p the first digit of a number of its own? Not when it continues a
 * number ("175", "7.5") or is a group of thousands ("1,075"). */
static bool number_starts_at(const char *text, const char *p)
{
  if (!isdigit((unsigned char)*p)) return false;
  if (p == text) return true;
  unsigned char b = (unsigned char)p[-1];
  if (isdigit(b)) return false;
  if ((b == '.' || b == ',') && p - 1 > text && isdigit((unsigned char)p[-2])) {
    if (b == '.') return false;
    int k = 0;
    while (isdigit((unsigned char)p[k])) k++;
    if (k == 3) return false; /* "1,075": a thousands group */
  }
  return true;
}

/* ---- units ------------------------------------------------------------------------ */

/* Skip what LaTeX and Markdown put between a number and its unit, and
 * inside units: spaces and tabs (not line breaks), braces, parentheses, '$',
 * '*', '~', '·', LaTeX spacing ("\,", "\;", "\ ", "\!") and command names
 * ("\text", "\mathrm", "\cdot" …). */
static const char *skip_noise(const char *p, const char *stop)
{
  while (p < stop && *p) {
    unsigned char c = (unsigned char)*p;
    if (c == ' ' || c == '\t' || c == '{' || c == '}' || c == '$' || c == '*' || c == '~' || c == '(' ||
        c == ')') {
      p++;
    } else if (c == 0xC2 && p + 1 < stop && (unsigned char)p[1] == 0xB7) { /* U+00B7 middle dot */
      p += 2;
    } else if (c == '\\') {
      p++;
      if (p < stop && isalpha((unsigned char)*p))
        while (p < stop && isalpha((unsigned char)*p)) p++;
      else if (p < stop && *p && *p != '\n') p++; /* "\,", "\ ", "\;" … */
    } else {
      break;
    }
  }
  return p;
}

/* Does unit pattern pat (lowercase, no spaces) follow p, the text's noise
 * skipped before every character, and end a word there (no letter right
 * after it: "km/h" is not the start of "km/hr")? */
static bool match_unit(const char *p, const char *stop, const char *pat)
{
  for (; *pat; pat++) {
    p = skip_noise(p, stop);
    if (p >= stop || tolower((unsigned char)*p) != (unsigned char)*pat) return false;
    p++;
  }
  return !(p < stop && isalpha((unsigned char)*p));
}

/* Speed units after the number (match_unit's patterns). */
static const char *const speed_units[] = {
  "kilometersperhour", "kilometresperhour", "kilometerperhour", "kilometreperhour", "kilometers/hour",
  "kilometres/hour", "kilometer/hour", "kilometre/hour", "km/hour", "km/hr", "km/h", "kmperhour", "kmperhr",
  "kmph", "kph", "kmh^-1", "kmh-1", "km/小时", "km/小時", "km/时", "km/時",
  "公里/小时", "公里/小時", "公里/时", "公里/時", "公里每小时", "公里每小時",
  "千米/小时", "千米/小時", "千米/时", "千米/時", "千米每小时", "千米每小時",
};

static bool is_speed_unit(const char *after, const char *stop)
{
  for (size_t i = 0; i < sizeof speed_units / sizeof *speed_units; i++)
    if (match_unit(after, stop, speed_units[i])) return true;
  return false;
}

/* "每小时75公里" (per hour, 75 kilometres): the unit is split around the number. */
static bool is_chinese_per_hour(const char *text, const number *n, const char *stop)
{
  static const char *const per_hour[] = {"每小时", "每小時"};
  const char *b = n->start;
  while (b > text && (b[-1] == ' ' || b[-1] == '*')) b--;
  bool before = false;
  for (int i = 0; i < 2 && !before; i++) {
    size_t len = strlen(per_hour[i]);
    before = (size_t)(b - text) >= len && memcmp(b - len, per_hour[i], len) == 0;
  }
  if (!before) return false;
  return match_unit(n->end, stop, "公里") || match_unit(n->end, stop, "千米");
}

/* ---- the final answer ---------------------------------------------------------------- */

/* The number a \boxed{…} holds: [b, e) is its content. The last number
 * followed by a speed unit, else the last number; false when none. */
static bool boxed_value(const char *b, const char *e, number *out)
{
  bool found = false, found_unit = false;
  for (const char *p = b; p < e; p++) {
    if (!number_starts_at(b, p)) continue;
    number n = scan_number(p);
    bool unit = is_speed_unit(n.end, e);
    if (unit || !found_unit) {
      *out = n;
      found = true;
      found_unit = found_unit || unit;
    }
    p = n.end - 1;
  }
  return found;
}

/* The content of the last \boxed{…} of [text, end): true and its bounds. */
static bool last_boxed(const char *text, const char *end, const char **cb, const char **ce)
{
  bool found = false;
  for (const char *p = text; p < end;) {
    const char *hit = strstr(p, "\\boxed");
    if (!hit || hit >= end) break;
    const char *q = hit + strlen("\\boxed");
    while (*q == ' ') q++;
    p = q;
    if (*q != '{') continue;
    int depth = 1;
    const char *c = q + 1;
    while (*c && depth > 0) {
      if (*c == '{') depth++;
      else if (*c == '}') depth--;
      if (depth > 0) c++;
    }
    /* an unclosed box (cut off by the token limit) still counts up to the end */
    *cb = q + 1;
    *ce = c;
    found = true;
    p = *c ? c + 1 : c;
  }
  return found;
}

/* True for the speeds the question gives (restated, never the answer). */
static bool given_speed(const number *n)
{
  return !n->has_fraction && (n->int_value == 60 || n->int_value == 90);
}

bool still_bench_answer_ok(int i, const char *text)
{
  if (i != 0 || !text) return false;
  /* 1. the final answer: after the last "</think>" */
  const char *final = text;
  for (const char *p = strstr(text, "</think>"); p; p = strstr(p + 1, "</think>")) final = p + strlen("</think>");
  const char *end = final + strlen(final);

  /* 2. the last \boxed{…} */
  const char *cb, *ce;
  number n;
  if (last_boxed(final, end, &cb, &ce)) {
    if (boxed_value(cb, ce, &n)) return n.is_75;
  }

  /* 3–5. the last speed, else the last bold number, else the last number */
  bool have_speed = false, have_bold = false, have_any = false;
  number speed = {0}, bold = {0}, any = {0};
  for (const char *p = final; p < end; p++) {
    if (!number_starts_at(final, p)) continue;
    n = scan_number(p);
    p = n.end - 1;
    /* a bare number, not a quantity with a unit ("75 minutes", "75 km") */
    const char *after = skip_noise(n.end, end);
    if (!(after < end && isalpha((unsigned char)*after))) {
      any = n;
      have_any = true;
    }
    if ((is_speed_unit(n.end, end) || is_chinese_per_hour(final, &n, end)) && !given_speed(&n)) {
      speed = n;
      have_speed = true;
    }
    if (n.start - final >= 2 && n.start[-1] == '*' && n.start[-2] == '*' && n.end[0] == '*' && n.end[1] == '*') {
      bold = n;
      have_bold = true;
    }
  }
  if (have_speed) return speed.is_75;
  if (have_bold) return bold.is_75;
  return have_any && any.is_75;
}

/* ---- peak resident memory ---------------------------------------------------------------- */

uint64_t still_peak_rss_bytes(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmHWM:", 6) == 0) {
      kb = strtoull(line + 6, NULL, 10);
      break;
    }
  }
  fclose(f);
  return kb * 1024;
}

bool still_peak_rss_reset(void)
{
  /* "5" resets the peak RSS to the current RSS (Linux 4.0 and later) */
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}
