/* chat-template.c — recognise a GGUF chat template and render it natively.
 *
 * No jinja engine: each supported family is a small C function that produces
 * exactly what the family's jinja template produces under Hugging Face
 * transformers' settings (trim_blocks, lstrip_blocks; only messages,
 * add_generation_prompt, bos_token and eos_token defined). The behaviour of
 * each renderer is written down next to it in terms of the template's rules;
 * tests/engine/test-chat-template.c checks them against real jinja renders.
 */
#include "chat-template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable output buffer ------------------------------------------- */

typedef struct {
  char *data;
  size_t len;
  size_t cap;
  bool oom; /* sticky: once an allocation fails, everything after is dropped */
} out_buf;

static void out_put(out_buf *b, const char *s, size_t n) {
  if (b->oom || n == 0)
    return;
  if (n > SIZE_MAX - b->len - 1) {
    b->oom = true;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
      cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void out_str(out_buf *b, const char *s) {
  if (s)
    out_put(b, s, strlen(s));
}

/* Hand the finished string to the caller (NULL on out of memory). */
static char *out_finish(out_buf *b) {
  if (b->oom) {
    free(b->data);
    return NULL;
  }
  if (!b->data) { /* nothing was written: still return "" */
    b->data = malloc(1);
    if (!b->data)
      return NULL;
    b->data[0] = '\0';
  }
  return b->data;
}

/* ---- string helpers mirroring the Python/jinja operations ---------------- */

static const char *msg_role(const still_message *m) { return m->role ? m->role : ""; }
static const char *msg_content(const still_message *m) { return m->content ? m->content : ""; }
static bool role_is(const still_message *m, const char *role) { return strcmp(msg_role(m), role) == 0; }

/* Last occurrence of needle in [s, s+n), or NULL. */
static const char *find_last(const char *s, size_t n, const char *needle) {
  size_t k = strlen(needle);
  if (k == 0 || k > n)
    return NULL;
  for (size_t i = n - k + 1; i-- > 0;)
    if (memcmp(s + i, needle, k) == 0)
      return s + i;
  return NULL;
}

/* First occurrence of needle in [s, s+n), or NULL (s need not be NUL-terminated at n). */
static const char *find_first(const char *s, size_t n, const char *needle) {
  size_t k = strlen(needle);
  if (k == 0 || k > n)
    return NULL;
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(s + i, needle, k) == 0)
      return s + i;
  return NULL;
}

/* content.split('</think>')[-1]: the text after the last "</think>" (all of it when absent). */
static const char *after_last_think(const char *content) {
  const char *p = find_last(content, strlen(content), "</think>");
  return p ? p + strlen("</think>") : content;
}

/* Python's str.isspace() for one code point: the characters str.strip() removes. */
static bool py_isspace(uint32_t c) {
  switch (c) {
  case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d:
  case 0x1c: case 0x1d: case 0x1e: case 0x1f: case 0x20:
  case 0x85: case 0xa0: case 0x1680:
  case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000:
    return true;
  default:
    return c >= 0x2000 && c <= 0x200a;
  }
}

/* Decode the UTF-8 sequence at s (n bytes available). Returns its length and
 * the code point, or 0 when the bytes there are not a valid sequence (such
 * bytes are never whitespace, so trimming stops at them). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
  if (n == 0)
    return 0;
  unsigned char c = s[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    v = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    v = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    v = (v << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) || (len == 4 && (v < 0x10000 || v > 0x10ffff)))
    return 0;
  *cp = v;
  return len;
}

/* Python's str.strip() (jinja's `| trim`) on [*s, *s + *n): adjusts s and n. */
static void py_strip(const char **s, size_t *n) {
  const unsigned char *p = (const unsigned char *)*s;
  size_t len = *n;
  uint32_t cp;
  size_t k;
  while (len > 0 && (k = utf8_decode(p, len, &cp)) > 0 && py_isspace(cp)) {
    p += k;
    len -= k;
  }
  /* From the end: step back over continuation bytes to the start of the last sequence. */
  while (len > 0) {
    size_t start = len - 1;
    while (start > 0 && len - start < 4 && (p[start] & 0xc0) == 0x80)
      start--;
    k = utf8_decode(p + start, len - start, &cp);
    if (k != len - start || !py_isspace(cp))
      break;
    len = start;
  }
  *s = (const char *)p;
  *n = len;
}

/* Python's str.lstrip('\n') / rstrip('\n'). */
static void lstrip_nl(const char **s, size_t *n) {
  while (*n > 0 && **s == '\n') {
    (*s)++;
    (*n)--;
  }
}
static void rstrip_nl(const char *s, size_t *n) {
  while (*n > 0 && s[*n - 1] == '\n')
    (*n)--;
}

/* ---- ChatML ------------------------------------------------------------
 * {% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' +
 * message['content'] + '<|im_end|>' + '\n'}}{% endfor %}
 * {% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
 */
static void render_chatml(out_buf *b, const still_message *msgs, size_t n, bool gen) {
  for (size_t i = 0; i < n; i++) {
    out_str(b, "<|im_start|>");
    out_str(b, msg_role(&msgs[i]));
    out_str(b, "\n");
    out_str(b, msg_content(&msgs[i]));
    out_str(b, "<|im_end|>\n");
  }
  if (gen)
    out_str(b, "<|im_start|>assistant\n");
}

/* ---- DeepSeek-R1-Distill ------------------------------------------------
 * The template (fixtures/chat-templates/deepseek-r1-distill.jinja):
 *  - prints bos_token, then the content of the LAST system message (each system
 *    message overwrites ns.system_prompt); system messages print nothing in the loop;
 *  - user: "<｜User｜>" + content (and leaves tool-output mode);
 *  - assistant: inside tool-output mode "<｜tool▁outputs▁end｜>" + content + EOS
 *    (no </think> split there) and leaves the mode; otherwise
 *    "<｜Assistant｜>" + text after the last "</think>" + EOS;
 *  - tool: enters tool-output mode; the first tool message of the whole chat
 *    opens "<｜tool▁outputs▁begin｜>", later ones start with "\n"
 *    (is_output_first is never reset);
 *  - other roles: nothing;
 *  - at the end: close open tool outputs, else the generation prompt
 *    "<｜Assistant｜><think>\n".
 * The end-of-sentence text is a literal in the template, not eos_token.
 * Assistant messages whose content is None (tool calls only) cannot be
 * expressed by still_message; NULL content is rendered as "".
 */
#define DS_EOS "<｜end▁of▁sentence｜>"
#define DS_USER "<｜User｜>"
#define DS_ASSISTANT "<｜Assistant｜>"
#define DS_OUTPUTS_BEGIN "<｜tool▁outputs▁begin｜>"
#define DS_OUTPUTS_END "<｜tool▁outputs▁end｜>"
#define DS_OUTPUT_BEGIN "<｜tool▁output▁begin｜>"
#define DS_OUTPUT_END "<｜tool▁output▁end｜>"

static void render_ds_tool_output(out_buf *b, const char *content, bool *is_output_first) {
  if (*is_output_first) {
    out_str(b, DS_OUTPUTS_BEGIN DS_OUTPUT_BEGIN);
    *is_output_first = false;
  } else {
    out_str(b, "\n" DS_OUTPUT_BEGIN);
  }
  out_str(b, content);
  out_str(b, DS_OUTPUT_END);
}

static void render_r1_distill(out_buf *b, const still_message *msgs, size_t n, bool gen, const char *bos) {
  const char *system_prompt = "";
  for (size_t i = 0; i < n; i++)
    if (role_is(&msgs[i], "system"))
      system_prompt = msg_content(&msgs[i]);
  out_str(b, bos);
  out_str(b, system_prompt);

  bool is_tool = false, is_output_first = true;
  for (size_t i = 0; i < n; i++) {
    const still_message *m = &msgs[i];
    const char *content = msg_content(m);
    if (role_is(m, "user")) {
      is_tool = false;
      out_str(b, DS_USER);
      out_str(b, content);
    } else if (role_is(m, "assistant")) {
      if (is_tool) {
        out_str(b, DS_OUTPUTS_END);
        out_str(b, content);
        out_str(b, DS_EOS);
        is_tool = false;
      } else {
        out_str(b, DS_ASSISTANT);
        out_str(b, after_last_think(content));
        out_str(b, DS_EOS);
      }
    } else if (role_is(m, "tool")) {
      is_tool = true;
      render_ds_tool_output(b, content, &is_output_first);
    }
  }
  if (is_tool)
    out_str(b, DS_OUTPUTS_END);
  if (gen && !is_tool)
    out_str(b, DS_ASSISTANT "<think>\n");
}

/* ---- DeepSeek template as shipped with R1-0528-Qwen3-8B ---------------------
 * Same family of markers, different rules (this is also the layout of the
 * DeepSeek-V3-0324 / R1-0528 templates):
 *  - bos_token, then ALL system contents joined with "\n\n";
 *  - user: "<｜User｜>" + content + "<｜Assistant｜>" (is_last_user = true, leaves
 *    tool-output mode);
 *  - assistant (no tool calls): content = text after the last "</think>";
 *    in tool-output mode "<｜tool▁outputs▁end｜>" + content + EOS and leave the
 *    mode, otherwise content + EOS (no marker: the user turn printed it);
 *  - tool: like the distill template (first output of the chat opens
 *    "<｜tool▁outputs▁begin｜>", later ones start with "\n");
 *  - other roles: nothing;
 *  - at the end: close open tool outputs; the generation prompt
 *    "<｜Assistant｜>" only when the last turn was not a user turn and no
 *    tool output is open. No "<think>": the model opens it itself.
 */
static void render_r1_0528(out_buf *b, const still_message *msgs, size_t n, bool gen, const char *bos) {
  out_str(b, bos);
  bool first_system = true;
  for (size_t i = 0; i < n; i++) {
    if (!role_is(&msgs[i], "system"))
      continue;
    if (!first_system)
      out_str(b, "\n\n");
    out_str(b, msg_content(&msgs[i]));
    first_system = false;
  }

  bool is_tool = false, is_last_user = false, is_output_first = true;
  for (size_t i = 0; i < n; i++) {
    const still_message *m = &msgs[i];
    const char *content = msg_content(m);
    if (role_is(m, "user")) {
      is_tool = false;
      is_last_user = true;
      out_str(b, DS_USER);
      out_str(b, content);
      out_str(b, DS_ASSISTANT);
    } else if (role_is(m, "assistant")) {
      is_last_user = false;
      if (is_tool) {
        out_str(b, DS_OUTPUTS_END);
        is_tool = false;
      }
      out_str(b, after_last_think(content));
      out_str(b, DS_EOS);
    } else if (role_is(m, "tool")) {
      is_last_user = false;
      is_tool = true;
      render_ds_tool_output(b, content, &is_output_first);
    }
  }
  if (is_tool)
    out_str(b, DS_OUTPUTS_END);
  if (gen && !is_last_user && !is_tool)
    out_str(b, DS_ASSISTANT);
}

/* ---- Qwen3 ----------------------------------------------------------------
 * The template (fixtures/chat-templates/qwen3.jinja) without tools:
 *  - messages[0] of role system is printed first as a ChatML block; later
 *    system messages are printed where they stand;
 *  - last_query_index: the last user message whose content is not a
 *    "<tool_response>…</tool_response>" wrapper (len-1 when there is none);
 *  - user: ChatML block;
 *  - assistant: when the content contains "</think>", reasoning = the text
 *    before the first "</think>", right-stripped of "\n", after its last
 *    "<think>", left-stripped of "\n"; content = text after the last
 *    "</think>", left-stripped of "\n". For turns after last_query_index that are
 *    the last message or have reasoning: "<|im_start|>assistant\n<think>\n" +
 *    reasoning.strip('\n') + "\n</think>\n\n" + content.lstrip('\n'); otherwise
 *    "<|im_start|>assistant\n" + content. Then "<|im_end|>\n";
 *  - tool: grouped into one user block of "\n<tool_response>\n…\n</tool_response>"
 *    parts;
 *  - other roles: nothing;
 *  - generation prompt "<|im_start|>assistant\n" (enable_thinking undefined).
 */
static bool is_tool_response_wrapper(const char *s) {
  static const char open[] = "<tool_response>", close[] = "</tool_response>";
  size_t n = strlen(s);
  return n >= sizeof open - 1 && memcmp(s, open, sizeof open - 1) == 0 && n >= sizeof close - 1 &&
         memcmp(s + n - (sizeof close - 1), close, sizeof close - 1) == 0;
}

static void render_qwen3_assistant(out_buf *b, const still_message *m, bool after_last_query, bool is_last) {
  const char *raw = msg_content(m);
  size_t raw_len = strlen(raw);
  const char *content = raw, *reasoning = "";
  size_t content_len = raw_len, reasoning_len = 0;

  const char *first_close = find_first(raw, raw_len, "</think>");
  if (first_close) {
    const char *last_close = find_last(raw, raw_len, "</think>");
    content = last_close + strlen("</think>");
    content_len = (size_t)(raw + raw_len - content);
    lstrip_nl(&content, &content_len);

    size_t before_len = (size_t)(first_close - raw);
    rstrip_nl(raw, &before_len);
    const char *open = find_last(raw, before_len, "<think>");
    reasoning = open ? open + strlen("<think>") : raw;
    reasoning_len = (size_t)(raw + before_len - reasoning);
    lstrip_nl(&reasoning, &reasoning_len);
  }

  out_str(b, "<|im_start|>assistant\n");
  if (after_last_query && (is_last || reasoning_len > 0)) {
    rstrip_nl(reasoning, &reasoning_len); /* .strip('\n'); the left side is already stripped */
    lstrip_nl(&content, &content_len);
    out_str(b, "<think>\n");
    out_put(b, reasoning, reasoning_len);
    out_str(b, "\n</think>\n\n");
  }
  out_put(b, content, content_len);
  out_str(b, "<|im_end|>\n");
}

static void render_qwen3(out_buf *b, const still_message *msgs, size_t n, bool gen) {
  if (n > 0 && role_is(&msgs[0], "system")) {
    out_str(b, "<|im_start|>system\n");
    out_str(b, msg_content(&msgs[0]));
    out_str(b, "<|im_end|>\n");
  }

  size_t last_query = n > 0 ? n - 1 : 0;
  for (size_t i = n; i-- > 0;) {
    if (role_is(&msgs[i], "user") && !is_tool_response_wrapper(msg_content(&msgs[i]))) {
      last_query = i;
      break;
    }
  }

  for (size_t i = 0; i < n; i++) {
    const still_message *m = &msgs[i];
    if (role_is(m, "user") || (role_is(m, "system") && i > 0)) {
      out_str(b, "<|im_start|>");
      out_str(b, msg_role(m));
      out_str(b, "\n");
      out_str(b, msg_content(m));
      out_str(b, "<|im_end|>\n");
    } else if (role_is(m, "assistant")) {
      render_qwen3_assistant(b, m, i > last_query, i + 1 == n);
    } else if (role_is(m, "tool")) {
      if (i == 0 || !role_is(&msgs[i - 1], "tool"))
        out_str(b, "<|im_start|>user");
      out_str(b, "\n<tool_response>\n");
      out_str(b, msg_content(m));
      out_str(b, "\n</tool_response>");
      if (i + 1 == n || !role_is(&msgs[i + 1], "tool"))
        out_str(b, "<|im_end|>\n");
    }
  }
  if (gen)
    out_str(b, "<|im_start|>assistant\n");
}

/* ---- Llama-3 -------------------------------------------------------------
 * The Llama-3 instruct template: for every message (all roles)
 * "<|start_header_id|>" + role + "<|end_header_id|>\n\n" + content|trim +
 * "<|eot_id|>", bos_token before the first one; generation prompt
 * "<|start_header_id|>assistant<|end_header_id|>\n\n".
 * (Llama-3.1+ templates also print a dated system preamble; that is not
 * reproduced here.)
 */
static void render_llama3(out_buf *b, const still_message *msgs, size_t n, bool gen, const char *bos) {
  for (size_t i = 0; i < n; i++) {
    if (i == 0)
      out_str(b, bos);
    out_str(b, "<|start_header_id|>");
    out_str(b, msg_role(&msgs[i]));
    out_str(b, "<|end_header_id|>\n\n");
    const char *content = msg_content(&msgs[i]);
    size_t len = strlen(content);
    py_strip(&content, &len);
    out_put(b, content, len);
    out_str(b, "<|eot_id|>");
  }
  if (gen)
    out_str(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* ---- public ---------------------------------------------------------------- */

char *still_template_render(still_template_family f, const still_message *msgs, size_t n,
                            bool add_generation_prompt, const char *bos, const char *eos) {
  (void)eos; /* every supported template writes its end markers literally */
  if (n > 0 && !msgs)
    n = 0;
  out_buf b = {0};
  switch (f) {
  case STILL_TEMPLATE_CHATML:
    render_chatml(&b, msgs, n, add_generation_prompt);
    break;
  case STILL_TEMPLATE_R1_DISTILL:
    render_r1_distill(&b, msgs, n, add_generation_prompt, bos);
    break;
  case STILL_TEMPLATE_R1_0528:
    render_r1_0528(&b, msgs, n, add_generation_prompt, bos);
    break;
  case STILL_TEMPLATE_QWEN3:
    render_qwen3(&b, msgs, n, add_generation_prompt);
    break;
  case STILL_TEMPLATE_LLAMA3:
    render_llama3(&b, msgs, n, add_generation_prompt, bos);
    break;
  default:
    return NULL;
  }
  return out_finish(&b);
}

const char *still_template_family_name(still_template_family f) {
  switch (f) {
  case STILL_TEMPLATE_CHATML:
    return "chatml";
  case STILL_TEMPLATE_R1_DISTILL:
    return "r1-distill";
  case STILL_TEMPLATE_R1_0528:
    return "r1-0528";
  case STILL_TEMPLATE_QWEN3:
    return "qwen3";
  case STILL_TEMPLATE_LLAMA3:
    return "llama3";
  }
  return "unknown";
}

bool still_template_starts_in_think(still_template_family f) { return f == STILL_TEMPLATE_R1_DISTILL; }

/* ---- detection -------------------------------------------------------------
 * By distinctive markers rather than exact text, so reformatted or edited copies
 * of a template (llama.cpp's, Ollama's Go templates, unsloth's) land in the
 * same family:
 *  - DeepSeek markers "<｜User｜>" / "<｜Assistant｜>":
 *      "<｜Assistant｜>" appended to something ("... + '<｜Assistant｜>'", the user
 *      turn printing the assistant marker) → R1-0528 layout;
 *      otherwise → R1 distill (the marker opens the assistant turn).
 *  - "<|start_header_id|>" → Llama-3.
 *  - "<|im_start|>" with "<think>" or "reasoning_content" → Qwen3.
 *  - "<|im_start|>" → ChatML.
 *  - anything else → ChatML, unknown.
 */

/* True when some "<｜Assistant｜>" string literal in t is the right operand of
 * a jinja "+": i.e. skipping back over its opening quote and blanks we meet '+'. */
static bool assistant_marker_appended(const char *t) {
  const char *p = t;
  while ((p = strstr(p, DS_ASSISTANT)) != NULL) {
    const char *q = p;
    if (q > t && (q[-1] == '\'' || q[-1] == '"')) {
      q--;
      while (q > t && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n' || q[-1] == '\r'))
        q--;
      if (q > t && q[-1] == '+')
        return true;
    }
    p += strlen(DS_ASSISTANT);
  }
  return false;
}

still_template_family still_template_detect(const char *t, bool *known) {
  still_template_family f = STILL_TEMPLATE_CHATML;
  bool ok = true;
  if (!t || !*t) {
    ok = false;
  } else if (strstr(t, DS_USER) || strstr(t, DS_ASSISTANT)) {
    f = assistant_marker_appended(t) ? STILL_TEMPLATE_R1_0528 : STILL_TEMPLATE_R1_DISTILL;
  } else if (strstr(t, "<|start_header_id|>")) {
    f = STILL_TEMPLATE_LLAMA3;
  } else if (strstr(t, "<|im_start|>")) {
    f = (strstr(t, "<think>") || strstr(t, "reasoning_content")) ? STILL_TEMPLATE_QWEN3 : STILL_TEMPLATE_CHATML;
  } else {
    ok = false;
  }
  if (known)
    *known = ok;
  return f;
}
