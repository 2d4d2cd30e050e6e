/* distill-offload.c — the engine's offload line read back (see distill-offload.h). */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distill-offload.h"

/* The text inside the parentheses that open at *p ("(" included at *p), nested ones kept; *p moves
 * past the closing one. NULL when *p does not open a balanced group. */
static char *take_group(const char **p)
{
  const char *s = *p;
  if (*s != '(') return NULL;
  const char *start = ++s;
  int depth = 1;
  for (; *s; s++) {
    if (*s == '(') depth++;
    else if (*s == ')' && --depth == 0) break;
  }
  if (depth != 0) return NULL;
  *p = s + 1;
  return g_strndup(start, s - start);
}

/* Length of "VulkanN (" at s; 0 when s does not start with it. */
static size_t vulkan_prefix(const char *s)
{
  if (!g_str_has_prefix(s, "Vulkan")) return 0;
  size_t i = strlen("Vulkan");
  if (!g_ascii_isdigit(s[i])) return 0;
  while (g_ascii_isdigit(s[i])) i++;
  return s[i] == ' ' && s[i + 1] == '(' ? i + 2 : 0;
}

/* Length of a split's separator ") 14 + VulkanN (" at s (its count in *count); 0 when not there. */
static size_t split_separator(const char *s, int *count)
{
  if (s[0] != ')' || s[1] != ' ' || !g_ascii_isdigit(s[2])) return 0;
  size_t i = 2;
  while (g_ascii_isdigit(s[i])) i++;
  if (!g_str_has_prefix(s + i, " + ")) return 0;
  size_t v = vulkan_prefix(s + i + 3);
  if (v == 0) return 0;
  *count = atoi(s + 2);
  return i + 3 + v;
}

void distill_offload_parse(const char *line, DistillOffload *out)
{
  memset(out, 0, sizeof *out);
  int on = 0, total = 0, used = 0;
  if (line == NULL || sscanf(line, "offload: %d/%d layers%n", &on, &total, &used) != 2 || used == 0 || on < 0 ||
      total <= 0 || on > total)
    return;
  out->gpu_layers = on;
  out->n_layers = total;
  const char *p = line + used;
  if (!g_str_has_prefix(p, " on ")) return;
  p += strlen(" on ");

  if (on == 0) {
    /* "a GPU (CPU only)", "a GPU (REASON; running on the CPU[ from then on])" */
    if (g_str_has_prefix(p, "a GPU ")) p += strlen("a GPU ");
    g_autofree char *group = take_group(&p);
    if (group == NULL || g_str_equal(group, "CPU only")) return;
    const char *tails[] = {"; running on the CPU from then on", "; running on the CPU"};
    for (guint i = 0; i < G_N_ELEMENTS(tails); i++)
      if (g_str_has_suffix(group, tails[i])) {
        group[strlen(group) - strlen(tails[i])] = '\0';
        out->gpu_failed = i == 0;
        break;
      }
    out->remark = g_steal_pointer(&group);
    return;
  }

  /* the remark at the end: " (fewer than asked: REASON)" */
  const char *fewer = strstr(p, " (fewer than asked: ");
  g_autofree char *body = fewer ? g_strndup(p, fewer - p) : g_strdup(p);
  if (fewer) {
    const char *r = fewer + strlen(" (fewer than asked: ");
    size_t n = strlen(r);
    out->remark = g_strndup(r, n > 0 && r[n - 1] == ')' ? n - 1 : n);
  }
  /* "Vulkan0 (A) 14 + Vulkan1 (B) 14" or "Vulkan0 (A)": the names are cut at the separators, not
   * by matching parentheses, so a name with an odd one (or a line cut short) still reads */
  size_t v = vulkan_prefix(body);
  if (v == 0) {
    /* a bare name (older lines): it ends where the remarks in parentheses begin */
    const char *paren = strstr(body, " (");
    g_autofree char *bare = g_strstrip(paren ? g_strndup(body, paren - body) : g_strdup(body));
    if (*bare) {
      out->names[0] = g_steal_pointer(&bare);
      out->layers[0] = on;
      out->n_devices = 1;
    }
    if (paren && !out->remark) {
      const char *r = paren + 2;
      size_t n = strlen(r);
      out->remark = g_strndup(r, n > 0 && r[n - 1] == ')' ? n - 1 : n);
    }
    return;
  }
  const char *name = body + v;
  for (const char *q = name;; q++) {
    int count = 0;
    size_t sep = *q ? split_separator(q, &count) : 0;
    if (*q && sep == 0) continue;
    if (out->n_devices == DISTILL_OFFLOAD_MAX_DEVICES) break;
    int k = out->n_devices++;
    if (*q) {
      out->names[k] = g_strndup(name, q - name);
      out->layers[k] = count;
      name = q + sep;
      q = name - 1;
      continue;
    }
    /* the last one: "NAME) 14" in a split, "NAME)" alone */
    const char *end = q;
    int last = on;
    const char *sp = strrchr(name, ' ');
    if (out->n_devices > 1 && sp && sp > name && sp[-1] == ')' && g_ascii_isdigit(sp[1])) {
      last = atoi(sp + 1);
      end = sp;
    }
    if (end > name && end[-1] == ')') end--;
    out->names[k] = g_strndup(name, end - name);
    out->layers[k] = last;
    break;
  }
  for (int i = 0; i < out->n_devices; i++)
    if (*g_strstrip(out->names[i]) == '\0') {
      g_free(out->names[i]);
      out->names[i] = g_strdup("?");
    }
}

void distill_offload_clear(DistillOffload *o)
{
  for (int i = 0; i < o->n_devices && i < DISTILL_OFFLOAD_MAX_DEVICES; i++) g_free(o->names[i]);
  g_free(o->remark);
  memset(o, 0, sizeof *o);
}

char *distill_offload_devices(const DistillOffload *o)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < o->n_devices; i++) {
    if (i) g_string_append(s, " + ");
    g_string_append(s, o->names[i]);
  }
  return g_string_free(s, FALSE);
}

char *distill_offload_describe(const char *line)
{
  DistillOffload o;
  distill_offload_parse(line, &o);
  if (o.n_layers == 0) return g_strdup(line ? line : "");
  GString *s = g_string_new(NULL);
  if (o.gpu_layers == 0) {
    if (o.gpu_failed)
      /* Translators: the GPU failed during the session; %s is the engine's reason, in English */
      g_string_printf(s, _("On the CPU since the GPU failed: %s"), o.remark);
    else if (o.remark)
      /* Translators: %s is the engine's reason for not using a GPU, in English */
      g_string_printf(s, _("On the CPU: %s"), o.remark);
    else g_string_assign(s, _("On the CPU"));
  } else {
    g_autofree char *where = NULL;
    if (o.n_devices > 1) {
      GString *list = g_string_new(NULL);
      for (int i = 0; i < o.n_devices; i++) {
        if (i) g_string_append(list, _(", "));
        /* Translators: a GPU's name and how many of the model's layers it holds */
        g_string_append_printf(list, g_dngettext(GETTEXT_PACKAGE, "%1$s (%2$d layer)", "%1$s (%2$d layers)",
                                                 o.layers[i]),
                               o.names[i], o.layers[i]);
      }
      /* Translators: %1$d GPUs, then the list of them with their layers */
      where = g_strdup_printf(_("on %1$d GPUs: %2$s"), o.n_devices, list->str);
      g_string_free(list, TRUE);
    } else {
      /* Translators: %s is the GPU's name */
      where = g_strdup_printf(_("on the GPU (%s)"), o.n_devices ? o.names[0] : _("unknown"));
    }
    if (o.gpu_layers == o.n_layers)
      /* Translators: "All 28 layers on the GPU (NVIDIA GeForce RTX 4090)" */
      g_string_printf(s, g_dngettext(GETTEXT_PACKAGE, "All %1$d layer %2$s", "All %1$d layers %2$s", o.n_layers),
                      o.n_layers, where);
    else
      /* Translators: "20 of 48 layers on the GPU (AMD Radeon RX 7600), the rest on the CPU" */
      g_string_printf(s,
                      g_dngettext(GETTEXT_PACKAGE, "%1$d of %2$d layer %3$s, the rest on the CPU",
                                  "%1$d of %2$d layers %3$s, the rest on the CPU", o.n_layers),
                      o.gpu_layers, o.n_layers, where);
    if (o.remark)
      /* Translators: why fewer layers than asked went to the GPU; %s is the engine's reason, in English */
      g_string_append_printf(s, _(" (fewer than asked: %s)"), o.remark);
  }
  distill_offload_clear(&o);
  return g_string_free(s, FALSE);
}
