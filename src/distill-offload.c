/* distill-offload.c — the engine's offload line read back (see distill-offload.h). */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distill-offload.h"

/* A count of layers at s (digits), clamped to [0, most]. */
static int layer_count(const char *s, int most)
{
  gint64 v = g_ascii_strtoll(s, NULL, 10);
  return (int)CLAMP(v, 0, (gint64)most);
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

/* Length of a split's separator ") 14 + VulkanN (" at s (its count in *count, at most most); 0 when
 * not there. */
static size_t split_separator(const char *s, int most, int *count)
{
  if (s[0] != ')' || s[1] != ' ' || !g_ascii_isdigit(s[2])) return 0;
  size_t i = 2;
  while (g_ascii_isdigit(s[i])) i++;
  if (!g_str_has_prefix(s + i, " + ")) return 0;
  size_t v = vulkan_prefix(s + i + 3);
  if (v == 0) return 0;
  *count = layer_count(s + 2, most);
  return i + 3 + v;
}

/* The text from just after open to the last ")" of the line, or to its end when there is none (a
 * line cut short): the engine's remark in "(…)", whatever parentheses it holds. */
static char *to_last_paren(const char *open)
{
  const char *close = strrchr(open, ')');
  return close ? g_strndup(open, close - open) : g_strdup(open);
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
    if (!g_str_has_prefix(p, "a GPU (")) return;
    g_autofree char *group = to_last_paren(p + strlen("a GPU ("));
    if (g_str_equal(group, "CPU only")) return;
    const char *tails[] = {"; running on the CPU from then on", "; running on the CPU"};
    for (guint i = 0; i < G_N_ELEMENTS(tails); i++)
      if (g_str_has_suffix(group, tails[i])) {
        group[strlen(group) - strlen(tails[i])] = '\0';
        out->gpu_failed = i == 0;
        break;
      }
    if (*group) out->remark = g_steal_pointer(&group);
    return;
  }

  /* the remark at the end: " (fewer than asked: REASON)" */
  const char *fewer = strstr(p, " (fewer than asked: ");
  g_autofree char *body = fewer ? g_strndup(p, fewer - p) : g_strdup(p);
  if (fewer) out->remark = to_last_paren(fewer + strlen(" (fewer than asked: "));
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
    if (paren && !out->remark) out->remark = to_last_paren(paren + 2);
    return;
  }
  const char *name = body + v;
  int given = 0; /* layers of the devices before the last */
  for (const char *q = name;; q++) {
    int count = 0;
    size_t sep = *q ? split_separator(q, on, &count) : 0;
    if (*q && sep == 0) continue;
    if (out->n_devices == DISTILL_OFFLOAD_MAX_DEVICES) break;
    int k = out->n_devices++;
    if (*q) {
      out->names[k] = g_strndup(name, q - name);
      out->layers[k] = count;
      given += count;
      name = q + sep;
      q = name - 1;
      continue;
    }
    /* the last one: "NAME) 14" in a split, "NAME)" alone; a split's line cut short gives it the
     * layers the others do not have */
    const char *end = q;
    int last = MAX(on - given, 0);
    const char *sp = strrchr(name, ' ');
    if (k > 0 && sp && sp > name && sp[-1] == ')' && g_ascii_isdigit(sp[1])) {
      last = layer_count(sp + 1, on);
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
      /* Translators: a GPU whose name the engine did not give */
      out->names[i] = g_strdup(C_("gpu name", "unknown"));
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
  char *where;
  if (o.gpu_layers == 0) {
    if (o.gpu_failed)
      /* Translators: the GPU failed during the session; %s is the engine's reason, in English */
      where = g_strdup_printf(_("On the CPU since the GPU failed: %s"), o.remark ? o.remark : "");
    else if (o.remark)
      /* Translators: %s is the engine's reason for not using a GPU, in English */
      where = g_strdup_printf(_("On the CPU: %s"), o.remark);
    else where = g_strdup(_("On the CPU"));
    distill_offload_clear(&o);
    return where;
  }
  const char *gpu = o.n_devices > 0 ? o.names[0] : C_("gpu name", "unknown");
  if (o.n_devices > 1) {
    GString *list = g_string_new(NULL);
    for (int i = 0; i < o.n_devices; i++) {
      /* Translators: separates the GPUs of a list, "A (32 layers), B (32 layers)" */
      if (i) g_string_append(list, _(", "));
      /* Translators: a GPU's name and how many of the model's layers it holds */
      g_string_append_printf(list, g_dngettext(GETTEXT_PACKAGE, "%1$s (%2$d layer)", "%1$s (%2$d layers)",
                                               o.layers[i]),
                             o.names[i], o.layers[i]);
    }
    if (o.gpu_layers == o.n_layers)
      /* Translators: %1$d layers; %2$s the list of GPUs with their layers, "A (32 layers), B (32 layers)" */
      where = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "All %1$d layer on the GPUs: %2$s",
                                          "All %1$d layers on the GPUs: %2$s", o.n_layers),
                              o.n_layers, list->str);
    else
      /* Translators: %1$d of the model's %2$d layers; %3$s the list of GPUs with their layers */
      where = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%1$d of %2$d layer on the GPUs, the rest on the CPU: %3$s",
                                          "%1$d of %2$d layers on the GPUs, the rest on the CPU: %3$s", o.n_layers),
                              o.gpu_layers, o.n_layers, list->str);
    g_string_free(list, TRUE);
  } else if (o.gpu_layers == o.n_layers) {
    /* Translators: "All 28 layers on the GPU (NVIDIA GeForce RTX 4090)" */
    where = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "All %1$d layer on the GPU (%2$s)",
                                        "All %1$d layers on the GPU (%2$s)", o.n_layers),
                            o.n_layers, gpu);
  } else {
    /* Translators: "20 of 48 layers on the GPU (AMD Radeon RX 7600), the rest on the CPU" */
    where = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%1$d of %2$d layer on the GPU (%3$s), the rest on the CPU",
                                        "%1$d of %2$d layers on the GPU (%3$s), the rest on the CPU", o.n_layers),
                            o.gpu_layers, o.n_layers, gpu);
  }
  if (o.remark) {
    /* Translators: %1$s says where the layers are (a whole sentence above); %2$s is the engine's
     * reason, in English, why fewer went to the GPU than asked */
    char *with = g_strdup_printf(_("%1$s (fewer than asked: %2$s)"), where, o.remark);
    g_free(where);
    where = with;
  }
  distill_offload_clear(&o);
  return where;
}
